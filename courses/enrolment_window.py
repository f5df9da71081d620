"""When a run can be enrolled: its application window (모집 기간) and the one recruitment status derived from it.

    status_of(run, today) -> Recruitment      what every page, the API and the learner's quote ask

`Run.status` is the run's *lifecycle* (open, closed, cancelled, draft, submitted, rejected): whether it is
published and whether its provider or source still takes learners at all. What a learner needs is the
*recruitment status* on a given day, derived here from the lifecycle, the window, the seats and the dates:

| code | label | when (checked in this order) | enrollable |
|---|---|---|---|
| draft / submitted / rejected | the lifecycle's own label | not published | no |
| cancelled | 폐강 | lifecycle cancelled | no |
| finished | 종료 | after the end date | no |
| in_training | 훈련 중 | from the start date to the end date, unless the window still includes today | no |
| closed | 마감 | lifecycle closed, or past the window's last day, or no seat left | no |
| upcoming | 모집 예정 | before the window opens | no |
| closing_soon | 마감 임박 | in the window, and it closes within a few days or few seats are left | yes |
| open | 모집 중 | in the window | yes |

The window: a provider's own dates (`Run.apply_from` / `Run.apply_until`) where set, else the programme's
defaults in days before the start date (courses/data/application_windows.toml, read by courses.reference).
With one end set by the provider, the other is the default, unless that would put the window out of
order: then the window keeps the default's length from the provider's end. A window never ends after the
start date (dates can move after a provider set them); it may end on it, when the provider says so, and the
run is then enrollable on its first day.

Nothing here reads the database or the clock: plain values (and the cached defaults) in, a frozen value out,
so a page, the quote and a search on the same day say the same thing. The search index stores each run's
window (computed with the defaults of the day it was indexed) and calls derive() with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from courses import errors, reference
from hrdnet.timeutil import format_day

UNPUBLISHED = ("draft", "submitted", "rejected", "withdrawn")  # lifecycles a learner never sees
UNPUBLISHED_LABELS = {"draft": "작성 중", "submitted": "승인 대기", "rejected": "반려", "withdrawn": "철회"}
RECRUITMENT_LABELS = {
    "upcoming": "모집 예정",
    "open": "모집 중",
    "closing_soon": "마감 임박",
    "closed": "마감",
    "in_training": "훈련 중",
    "finished": "종료",
    "cancelled": "폐강",
    **UNPUBLISHED_LABELS,
}
ENROLLABLE = ("open", "closing_soon")


@dataclass(frozen=True)
class Window:
    """The application window, both days included."""

    opens: date
    closes: date
    set_by: str  # "provider" when the provider set either end, else "programme"

    @property
    def text(self) -> str:
        return f"{format_day(self.opens)} ~ {format_day(self.closes)}"


@dataclass(frozen=True)
class Recruitment:
    """A run's recruitment status on one day."""

    code: str  # a RECRUITMENT_LABELS key
    label: str  # 모집 예정, 모집 중, 마감 임박, 마감, 훈련 중, 종료, 폐강, …
    window: Window
    today: date
    seats_left: int
    window_open: bool  # the run takes enrolments today: only a free seat is still needed
    reason: str  # why no enrolment is taken today (Korean); "" while the run is enrollable

    @property
    def opens(self) -> date:
        return self.window.opens

    @property
    def closes(self) -> date:
        return self.window.closes

    @property
    def enrollable(self) -> bool:
        return self.code in ENROLLABLE

    @property
    def closes_in_days(self) -> int | None:
        """Days from today to the window's last day (0 = closes today), while the window has not closed and
        the run still recruits; None otherwise."""
        if self.code not in ("upcoming", *ENROLLABLE):
            return None
        return (self.closes - self.today).days

    @property
    def deadline(self) -> str | None:
        """The D-day of an enrollable run: "마감 D-3", or "오늘 마감" on the last day."""
        days = self.closes_in_days if self.enrollable else None
        if days is None:
            return None
        return "오늘 마감" if days == 0 else f"마감 D-{days}"


# -- the window ----------------------------------------------------------------------------------------------


def window_for(
    start: date, programme_code: str | None, apply_from: date | None = None, apply_until: date | None = None
) -> Window:
    """The window of a run starting on `start`: the provider's dates where given, else the programme's."""
    days = reference.application_window_rules().days_for(programme_code)
    length = timedelta(days=days.opens - days.closes)
    opens = apply_from or start - timedelta(days=days.opens)
    closes = apply_until or start - timedelta(days=days.closes)
    if opens > closes:  # one end set by the provider, the default other end on the wrong side of it
        if apply_from is None:
            opens = closes - length
        else:
            closes = opens + length
    closes = min(closes, start)  # the start date moved after the provider set the window
    opens = min(opens, closes)
    set_by = "provider" if apply_from is not None or apply_until is not None else "programme"
    return Window(opens, closes, set_by)


def window_of(run) -> Window:
    programme = run.programme
    return window_for(run.start_date, programme.code if programme else None, run.apply_from, run.apply_until)


def check_window(start: date, apply_from: date | None, apply_until: date | None) -> None:
    """Refuse a provider's window that cannot be: it must close on or before the start date and open no later
    than it closes (InvalidApplicationWindow, in Korean). None leaves that end to the programme's default."""
    if apply_until is not None and apply_until > start:
        raise errors.InvalidApplicationWindow(
            f"모집 마감일({format_day(apply_until)})은 훈련 시작일({format_day(start)})이나 그 전이어야 합니다."
        )
    if apply_from is not None and apply_from > start:
        raise errors.InvalidApplicationWindow(
            f"모집 시작일({format_day(apply_from)})은 훈련 시작일({format_day(start)})보다 늦을 수 없습니다."
        )
    if apply_from is not None and apply_until is not None and apply_from > apply_until:
        raise errors.InvalidApplicationWindow(
            f"모집 시작일({format_day(apply_from)})이 모집 마감일({format_day(apply_until)})보다 늦습니다."
        )


# -- the status ----------------------------------------------------------------------------------------------


def status_of(run, today: date) -> Recruitment:
    """The run's recruitment status on `today` (KST): the one function pages, the API and the quote call."""
    return derive(
        lifecycle=run.status,
        start=run.start_date,
        end=run.end_date,
        seats_left=run.seats_left,
        window=window_of(run),
        today=today,
    )


def derive(*, lifecycle: str, start: date, end: date, seats_left: int, window: Window, today: date) -> Recruitment:
    """The status from plain values (see the module docstring for the order of the rules)."""
    window_open = lifecycle == "open" and window.opens <= today <= window.closes
    code, reason = _code_and_reason(lifecycle, start, end, seats_left, window, today, window_open)
    return Recruitment(
        code=code,
        label=RECRUITMENT_LABELS[code],
        window=window,
        today=today,
        seats_left=seats_left,
        window_open=window_open,
        reason=reason,
    )


def _code_and_reason(
    lifecycle: str, start: date, end: date, seats_left: int, window: Window, today: date, window_open: bool
) -> tuple[str, str]:
    if lifecycle in UNPUBLISHED:
        return lifecycle, "아직 공개되지 않은 회차입니다."
    if lifecycle == "cancelled":
        return "cancelled", "폐강된 회차입니다."
    if today > end:
        return "finished", f"훈련이 끝난 회차입니다(훈련 종료일 {format_day(end)})."
    if today >= start and not window_open:  # the window includes the start date only when a provider said so
        return "in_training", f"모집 기간({window.text})이 아닙니다. 훈련이 {format_day(start)}에 시작되었습니다."
    if lifecycle != "open":
        return "closed", "모집이 마감되었습니다."
    if today < window.opens:
        return "upcoming", f"모집 예정: {format_day(window.opens)}부터 신청할 수 있습니다(모집 기간 {window.text})."
    if today > window.closes:
        return "closed", f"모집이 마감되었습니다(모집 기간 {window.text})."
    if seats_left <= 0:
        return "closed", "남은 자리가 없어 모집이 마감되었습니다."
    rules = reference.application_window_rules()
    if (window.closes - today).days <= rules.closing_soon_days or seats_left <= rules.closing_soon_seats:
        return "closing_soon", ""
    return "open", ""
