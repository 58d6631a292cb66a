"""Cells as CRMs write them: dates in ISO, US (5/31/2026) or European (31.05.2026) order, amounts
with thousands separators, currency signs or a decimal comma, booleans as true/1/yes."""

from __future__ import annotations

import re
from datetime import date, datetime

_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")
_EU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})")


def parse_date(text: str) -> date | None:
    """The date at the start of ``text`` (a time after it is ignored); None when it is not one.
    ``5/6/2026`` is read month first, as Salesforce and HubSpot write US-locale exports."""
    for pattern, order in ((_ISO, (0, 1, 2)), (_US, (2, 0, 1)), (_EU, (2, 1, 0))):
        found = pattern.match(text.strip())
        if found:
            parts = [int(found.group(i + 1)) for i in range(3)]
            try:
                return date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                return None
    return None


def parse_amount(text: str) -> float | None:
    """``1,234,567.50``, ``1.234.567,50``, ``¥ 80,000``, ``CNY 80000``; None when not a number."""
    cleaned = re.sub(r"[^\d,.\-]", "", text)
    if not re.search(r"\d", cleaned):
        return None
    if "," in cleaned and "." in cleaned:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif "," in cleaned:
        decimal = "." if re.fullmatch(r"-?\d{1,3}(,\d{3})+", cleaned) else ","
    else:
        decimal = "." if not re.fullmatch(r"-?\d{1,3}(\.\d{3}){2,}", cleaned) else ","
    thousands = "," if decimal == "." else "."
    try:
        return float(cleaned.replace(thousands, "").replace(decimal, "."))
    except ValueError:
        return None


def parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "y", "是"):
        return True
    if lowered in ("false", "0", "no", "n", "否", ""):
        return False
    return None


def days_between(earlier: date, later: date) -> int:
    return max(0, (later - earlier).days)


def today() -> date:
    return datetime.now().date()
