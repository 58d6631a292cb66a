"""The web app's own interface text, (Chinese, English) by key. Labels of deal fields and values
come from the vocabulary (``kb/vocabulary.yaml``), never from here; a page module adds the text
only it uses as its own ``WORDS``."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "app": ("dealcoach 大客户销售教练", "dealcoach key-account coach"),
    "skip": ("跳到正文", "Skip to content"),
    "language": ("语言", "Language"),
    "other_lang": ("English", "中文"),
    "other_lang_code": ("en", "zh"),
    "local_note": (
        "本应用只在你的电脑上运行：项目文件不会离开 {}。",
        "This app runs on your computer only: deal files never leave {}.",
    ),
    "error": ("出错了", "Something went wrong"),
    "back": ("返回项目列表", "Back to the deals"),
}
