#!/usr/bin/env python
"""Where one enrolment's time goes (issue 14): the production path on one thread, distinct cards, PostgreSQL.

    .venv/bin/python bench/enrolments_profile.py [--count 300] [--path single|batch] [--top 40] [--dump FILE] [--cpu-only]
        [--clock wall|cpu]

Prints wall and process CPU per enrolment (the rest is waiting for PostgreSQL: its CPU and the round trips),
SQL time per statement kind (timed around each cursor execute), and cProfile's top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.enrolments import FUNDED, SEATS, World, check  # noqa: E402
from bench.ledger import _app, on_sqlite_then_postgres  # noqa: E402


class SqlTimer:
    """Wall time of each statement (cursor execute to its return), grouped by its first words."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.by_kind, self.count = engine, defaultdict(float), defaultdict(int)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, _cursor, statement, *_args):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, _cursor, statement, *_args):
        words = " ".join(statement.split()[:4])[:60]
        self.by_kind[words] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        self.count[words] += 1


def run(backend: str, url: str, workdir: Path, args) -> None:
    from flask_migrate import upgrade

    from bench.enrolments import enrol_and_pay
    from hrdnet.extensions import db

    app = _app(url, workdir, 2)
    app.config["PASSWORD_HASH_PROFILE"] = "CHEAPEST"
    with app.app_context():
        upgrade()
        db.session.remove()
    world = World(app, args.count + 30)
    world.build()
    run_ids = world.runs(-(-(args.count + 40) // SEATS))
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        for i in range(20):  # warm-up: first-use reads and compiled-statement caches
            enrol_and_pay(world.users[1 + i], run_ids[-1 - i // SEATS], f"{tag}:warm:{i}", world.today)
        db.session.remove()
        timer = SqlTimer(db.engine)
        profile = cProfile.Profile(time.process_time) if args.clock == "cpu" else cProfile.Profile()
        requests = [
            (world.users[21 + i], run_ids[i % (len(run_ids) - 2)], f"{tag}:{i}", world.today) for i in range(args.count)
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        if not args.cpu_only:
            profile.enable()
        if args.path == "single":
            for request in requests:
                enrol_and_pay(*request)
                db.session.remove()
        else:
            from bench.enrolments import enrol_batch_and_pay

            for start in range(0, len(requests), args.batch):
                enrol_batch_and_pay(requests[start : start + args.batch])
                db.session.remove()
        profile.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = args.count
    sql = sum(timer.by_kind.values())
    how = "without cProfile" if args.cpu_only else "under cProfile, which slows Python ~1.5×"
    print(f"\n{backend}, path {args.path}, {n} enrolments on one thread ({how})")
    print(f"  wall {wall / n * 1000:.2f} ms per enrolment, process CPU {cpu / n * 1000:.2f} ms, ")
    print(
        f"  time inside cursor.execute {sql / n * 1000:.2f} ms per enrolment ({sum(timer.count.values()) / n:.1f} statements)"
    )
    for words, seconds in sorted(timer.by_kind.items(), key=lambda item: -item[1])[:25]:
        print(f"    {seconds / n * 1000:7.3f} ms  {timer.count[words] / n:5.2f}×  {words}")
    if not args.cpu_only:
        stats = pstats.Stats(profile)
        if args.dump:
            stats.dump_stats(args.dump)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    check(app, FUNDED)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--path", choices=("single", "batch"), default="single")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="no cProfile: the process CPU per enrolment is then the load-independent figure to compare",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cProfile's clock: wall (waits for PostgreSQL included) or this process's CPU (waits left out)",
    )
    parser.add_argument("--dump", help="also write cProfile's stats to this file (for pstats or snakeviz)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    on_sqlite_then_postgres(
        "hrdnet-bench-profile-",
        lambda backend, url, workdir: run(backend, url, workdir, args),
        postgres=not args.sqlite,
        sqlite=args.sqlite,
    )


if __name__ == "__main__":
    main()
