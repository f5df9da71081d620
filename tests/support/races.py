"""The race harness: many writers released at once, each in its own app context (own session, own connection).

Tests that use it with n threads need a connection pool of at least n (see the `app_config` override in
tests/vouchers/ledger/test_races.py); on PostgreSQL mark them many_connections.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hrdnet.errors import DomainError
from hrdnet.extensions import db

THREADS = 60


@dataclass
class RaceResult:
    outcomes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def succeeded(self) -> int:
        return self.outcomes.count("ok")

    def count(self, prefix: str) -> int:
        return sum(outcome.startswith(prefix) for outcome in self.outcomes)

    def summary(self) -> str:
        kinds = Counter(
            outcome.split(":")[0] + (":" + outcome.split(":")[1] if outcome.startswith("refused:") else "")
            for outcome in self.outcomes
        )
        return ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) + f" in {self.seconds:.2f}s"


def race(app, attempt: Callable[[int], object], n: int = THREADS) -> RaceResult:
    """Run attempt(0..n-1) on n threads released together by a barrier.

    An attempt returns something truthy when it succeeded and falsy when it refused; a DomainError is a
    refusal with its code; any other exception is recorded as an error (the database refusing a naive writer).
    """
    barrier = threading.Barrier(n)
    outcomes: list[str] = ["unfinished"] * n

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                outcomes[i] = "ok" if attempt(i) else "refused"
            except DomainError as exc:
                outcomes[i] = f"refused:{exc.code}"
            except Exception as exc:  # noqa: BLE001 - recorded and judged by the test
                outcomes[i] = f"error:{type(exc).__name__}: {getattr(exc, 'orig', exc)}"[:300]
            finally:
                db.session.remove()

    db.session.rollback()  # the test's own snapshot must not hold anything the racers wait for
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return RaceResult(outcomes, time.perf_counter() - started)
