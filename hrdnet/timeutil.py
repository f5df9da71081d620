"""Time in one place: stored in UTC, shown and reasoned about in Korea Standard Time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")


def utcnow() -> datetime:
    return datetime.now(UTC)


def kst_today() -> date:
    return datetime.now(KST).date()


def format_kst(value: datetime | None, with_time: bool = True) -> str:
    """'2026-11-25 17:05' in KST (empty string for None)."""
    if value is None:
        return ""
    local = value.astimezone(KST)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


WEEKDAYS_KO = "월화수목금토일"


def format_day(value: date | None) -> str:
    """2026-12-01 -> '2026-12-01(화)' (empty string for None): a calendar day as every page writes it."""
    return "" if value is None else f"{value.isoformat()}({WEEKDAYS_KO[value.weekday()]})"


def format_won(amount: int | None) -> str:
    """1234000 -> '1,234,000원'."""
    return "" if amount is None else f"{amount:,}원"
