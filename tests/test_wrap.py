"""Wrapping mixed Chinese and English for a terminal of any width."""

from __future__ import annotations

import pytest

from dealcoach.engine.render.templating import NO_LINE_END, NO_LINE_START, display_width, wrap

NAMES = ["欧阳建国", "王敏", "Li Wei", "周建国"]
TEXT = (
    "欧阳建国拍板，但我们还没见过。请王敏出面引荐（先问清欧阳建国眼下最看重的指标），"
    "再约一次二十分钟的拜访。Ask 王敏 and Li Wei to make the introduction: first find out which "
    "results 周建国 is judged on, then book a twenty-minute meeting about 「结果」《方案》。"
)
WIDTHS = range(12, 101)


def lines(width: int, text: str = TEXT) -> list[str]:
    return wrap(text, width, "   ", " 1. ", keep=NAMES).splitlines()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_line_is_wider_than_the_width(width):
    assert max(display_width(line) for line in lines(width)) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_is_lost_or_added_but_line_breaks_and_indents(width):
    joined = "".join(line[4:] if n == 0 else line[3:] for n, line in enumerate(lines(width)))
    assert joined.replace(" ", "") == TEXT.replace(" ", "")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_name_is_never_split_across_lines(width):
    text = "".join(lines(width))
    for name in NAMES:
        assert "\n".join(lines(width)).count(name) == text.count(name) == TEXT.count(name)


@pytest.mark.parametrize("width", WIDTHS)
def test_closing_punctuation_never_starts_a_line_nor_opening_ends_one(width):
    wrapped = lines(width)
    assert all(line.strip()[0] not in NO_LINE_START for line in wrapped[1:])
    assert all(line[-1] not in NO_LINE_END for line in wrapped)


@pytest.mark.parametrize("width", [30, 45, 60])
def test_english_words_stay_whole(width):
    words = {w for line in lines(width) for w in line.split()}
    assert {"introduction:", "twenty-minute", "judged"} <= words


def test_chinese_breaks_between_characters_without_adding_spaces():
    assert wrap("一二三四五六七八九十", 10) == "一二三四五\n六七八九十"


def test_cjk_characters_count_two_columns():
    assert display_width("王敏 ab") == 7


def test_a_word_longer_than_a_line_is_cut_rather_than_overflowing():
    assert wrap("abcdefghijkl", 5, "  ", "") == "abcde\n  fgh\n  ijk\n  l"


def test_colour_sequences_take_no_room_and_stay_whole():
    coloured = "\x1b[31m[高]\x1b[0m 周建国拍板"
    assert wrap(coloured, 12, "  ", "", keep=["周建国"]) == "\x1b[31m[高]\x1b[0m 周建国\n  拍板"


def test_wrapping_a_long_text_takes_one_pass(monkeypatch):
    """Each character is measured about once, not again with the whole line per word: the cost
    grows with the text, not with the text times the line length."""
    from dealcoach.engine.render import templating

    measured = 0
    measure = templating.display_width

    def counting(text: str) -> int:
        nonlocal measured
        measured += len(text)
        return measure(text)

    monkeypatch.setattr(templating, "display_width", counting)
    wrap(TEXT * 50, 100, "   ", keep=NAMES)
    assert measured / len(TEXT * 50) < 3
