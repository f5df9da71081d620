"""The test's clock: one notion of "now" per test, which the test moves and the code can be made to read.

The code asks hrdnet.timeutil for the time (`utcnow`, `kst_today`) and every module imports the function by
name, so a module reads this clock only once `drive(module)` has pointed that module's `utcnow` at it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hrdnet.timeutil import KST, utcnow


class Clock:
    """Stands still at the moment the test started until the test moves it."""

    def __init__(self, monkeypatch, start: datetime | None = None):
        self._monkeypatch = monkeypatch
        self.now = start or utcnow()
        self.today: date = self.now.astimezone(KST).date()  # the KST date the test started on; never moves

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move the clock forward, e.g. advance(30) or advance(minutes=5)."""
        self.now += timedelta(seconds=seconds, **delta)

    def drive(self, *modules) -> Clock:
        """Make each module's `utcnow` read this clock (for the rest of the test)."""
        for module in modules:
            self._monkeypatch.setattr(module, "utcnow", lambda: self.now)
        return self
