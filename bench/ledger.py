#!/usr/bin/env python
"""Ledger benchmark: holds per second on one hot card and on 10,000 cards, and audit verify on 1,000,000 rows.

    .venv/bin/python bench/ledger.py                       # SQLite, and PostgreSQL when one answers
    .venv/bin/python bench/ledger.py --holds 1000 --audit-rows 100000 --no-postgres    # quick look

Figures, not pass/fail (bench/README.md). Each backend gets a fresh database built by the migrations.

  real ledger    vouchers.ledger.hold() in unit_of_work(write_lock=True): locks, balance checks, the entries
                 triggers and CHECKs, one audit-log entry per transfer
  naive          baseline in the same run: tests/vouchers/ledger/naive_ledger.py (read the balance, write the new one;
                 no checks, no triggers, no audit) with its think time set to 0; it overspends under races,
                 so its figure is the price of doing nothing right, not a target
  hot card       every hold on one card (the worst case: every writer wants the same account row)
  10,000 cards   holds spread over 10,000 cards
  audit verify   hrdnet.audit.verify() and the `hrdnet audit verify` command over N chained rows, written by a
                 bulk insert (COPY on PostgreSQL) that computes the hash chain itself
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CARDS = 10_000


def _app(database_url: str, workdir: Path, pool: int):
    from hrdnet import create_app

    return create_app(
        {
            "HRDNET_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "MAIL_BACKEND": "file",
            "MAIL_DIR": str(workdir / "mail"),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": pool + 2, "max_overflow": 0},
        }
    )


def _in_threads(app, threads: int, total: int, work) -> float:
    """Run work(i) for i in range(total) split over `threads` threads (own app context each); returns seconds."""
    from hrdnet.extensions import db

    barrier = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def run(offset: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                for i in range(offset, total, threads):
                    work(i)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                db.session.remove()

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - started


def bench_holds(app, holds: int, threads: int) -> list[tuple[str, float]]:
    from sqlalchemy import insert, select, text

    from hrdnet.db import unit_of_work
    from hrdnet.extensions import db
    from hrdnet.timeutil import utcnow
    from tests.vouchers.ledger import naive_ledger
    from vouchers.ledger import operations as ledger
    from vouchers.ledger.models import Account, AccountKind, TransferKind

    with app.app_context():
        with unit_of_work(write_lock=True) as session:
            budget = ledger.open_account(AccountKind.PROGRAMME_BUDGET, "programme", 1)
            # Set-up only: the card accounts in one bulk insert (they open at zero, as the database demands),
            # then all 10,000 cards issued in one transfer of 20,000 entries.
            session.execute(
                insert(Account),
                [
                    {
                        "kind": kind,
                        "owner_type": "card",
                        "owner_id": card_id,
                        "normal_side": "credit",
                        "may_go_negative": False,
                        "balance": 0,
                        "created_at": utcnow(),
                    }
                    for card_id in range(1, CARDS + 1)
                    for kind in (AccountKind.CARD_AVAILABLE, AccountKind.CARD_HELD)
                ],
            )
            accounts = {
                (row.owner_id, row.kind): row.id
                for row in session.execute(
                    select(Account.id, Account.owner_id, Account.kind).where(Account.owner_type == "card")
                )
            }
            ids = [
                (accounts[card_id, "card_available"], accounts[card_id, "card_held"]) for card_id in range(1, CARDS + 1)
            ]
            ledger.transfer(
                "issue:bench",
                TransferKind.ISSUE,
                [(budget.id, available, 10**12) for available, _ in ids],
                memo="발급",
                actor="bench",
            )
        naive_ledger.THINK_SECONDS = 0
        naive = naive_ledger.NaiveLedger(db.engine)
        naive.install()
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO naive_cards (id, balance) VALUES (:id, :balance)"),
                [{"id": card_id, "balance": 10**12} for card_id in range(1, CARDS + 1)],
            )
    expires_at = utcnow() + timedelta(days=1)
    run_id = uuid.uuid4().hex[:6]
    results = []
    for scenario, pick in (("hot card", lambda i: 0), (f"{CARDS:,} cards", lambda i: i % CARDS)):

        def real(i, pick=pick, scenario=scenario):
            available, held = ids[pick(i)]
            with unit_of_work(write_lock=True):
                ledger.hold(
                    f"bench:{run_id}:{scenario}:{i}",
                    available,
                    held,
                    1_000,
                    expires_at=expires_at,
                    memo="보류",
                    actor="bench",
                )

        def baseline(i, pick=pick):
            naive.hold(pick(i) + 1, 1_000)

        results.append((f"real ledger, {scenario}", holds / _in_threads(app, threads, holds, real)))
        results.append((f"naive,       {scenario}", holds / _in_threads(app, threads, holds, baseline)))
    with app.app_context():
        report = ledger.verify()
        assert report.ok, report.problems
    return results


def fill_audit_log(app, rows: int) -> None:
    """Append `rows` chained entries the fast way: hashes computed here, rows written in bulk."""
    from sqlalchemy import select

    from hrdnet import audit
    from hrdnet.extensions import db

    with app.app_context():  # continue the chain the holds above started
        head = db.session.execute(
            select(audit.AuditEntry.id, audit.AuditEntry.hash).order_by(audit.AuditEntry.id.desc()).limit(1)
        ).first()
        db.session.remove()
        first, head_hash = (head.id + 1, head.hash) if head else (1, audit.GENESIS_HASH)
        key_id = audit.signing_key_id()

    def generate():
        prev = head_hash
        base = datetime(2026, 12, 1, tzinfo=UTC)
        for entry_id in range(first, first + rows):
            at = base + timedelta(microseconds=entry_id * 1_000)
            data = audit.canonical_json(
                {"key": f"bench:{entry_id}", "kind": "hold", "total": 1000, "amounts": {"1": -1000, "2": 1000}}
            )
            digest = audit.entry_hash(
                entry_id, at, "ledger.transfer", "bench", "transfer", str(entry_id), data, prev, key_id
            )
            yield (
                entry_id,
                at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
                "ledger.transfer",
                "bench",
                "transfer",
                str(entry_id),
                data,
                prev,
                digest,
                key_id,
            )
            prev = digest

    columns = "id, at, action, actor, subject_type, subject_id, data, prev_hash, hash, key_id"
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if db.engine.dialect.name == "postgresql":
                with cursor.copy(f"COPY audit_log ({columns}) FROM STDIN") as copy:
                    for row in generate():
                        copy.write_row(row)
            else:
                cursor.execute("BEGIN")
                cursor.executemany(
                    f"INSERT INTO audit_log ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", generate()
                )
            raw.commit()
        finally:
            raw.close()


def bench_audit(app, database_url: str, rows: int) -> list[tuple[str, float]]:
    from hrdnet import audit

    started = time.perf_counter()
    fill_audit_log(app, rows)
    filled = time.perf_counter() - started
    with app.app_context():
        started = time.perf_counter()
        verdict = audit.verify()
        in_process = time.perf_counter() - started
    assert verdict.ok and verdict.count >= rows, verdict
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/hrdnet"), "audit", "verify"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
    )
    command = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return [
        (f"bulk insert of {rows:,} chained rows (s)", filled),
        (f"audit.verify() over {verdict.count:,} rows (s)", in_process),
        ("`hrdnet audit verify` command, start-up included (s)", command),
    ]


def run_backend(name: str, database_url: str, workdir: Path, args) -> None:
    from flask_migrate import upgrade

    from hrdnet.extensions import db

    app = _app(database_url, workdir, args.threads)
    with app.app_context():
        upgrade()
        version = (
            db.session.connection()
            .exec_driver_sql("SELECT sqlite_version()" if name == "sqlite" else "SHOW server_version")
            .scalar()
        )
    print(f"\n{name} {version}: {args.holds:,} holds per row, {args.threads} threads")
    for label, value in bench_holds(app, args.holds, args.threads):
        print(f"  {label:<28} {value:>10,.0f} holds/s")
    for label, value in bench_audit(app, database_url, args.audit_rows):
        print(f"  {label:<52} {value:>8.1f}")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--holds", type=int, default=3000, help="holds per measured row")
    parser.add_argument("--threads", type=int, default=4, help="concurrent writers")
    parser.add_argument("--audit-rows", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    on_sqlite_then_postgres(
        "hrdnet-bench-ledger-",
        lambda backend, url, workdir: run_backend(backend, url, workdir, args),
        postgres=not args.no_postgres,
    )


def on_sqlite_then_postgres(prefix: str, run, *, postgres: bool, sqlite: bool = True) -> None:
    """run(backend, url, workdir) on a fresh SQLite file, then on a throw-away PostgreSQL database (dropped after)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        workdir = Path(folder)
        if sqlite:
            run("sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}", workdir)
        if not postgres:
            return
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"hrdnet_bench_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001
            print(f"\npostgresql: skipped ({type(exc).__name__}: no server at {POSTGRES_ADMIN_URL})")
            return
        try:
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            run("postgresql", url, workdir)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
