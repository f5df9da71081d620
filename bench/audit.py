#!/usr/bin/env python
"""Audit console benchmark: 1,000,000 ledger entries behind 100,000 enrolments.

    .venv/bin/python bench/audit.py                      # SQLite (file, WAL); the full size
    .venv/bin/python bench/audit.py --enrolments 10000   # a quick look (100,000 entries)
    .venv/bin/python bench/audit.py --postgres           # also on a throw-away PostgreSQL database

Figures, not pass/fail (bench/README.md). Runs unattended; prints one line per figure.

  set-up        providers, courses, runs (5 % of the enrolments), users, people and enrolments written in bulk;
                then per enrolment five balanced transfers of two entries (fund, copay, two unit-period
                settlements, and a refund or a final settlement), keyed `enrolment:<id>:…` as the services key
                them, over twelve months, so ten entries per enrolment. They go through the ledger's own
                triggers (balance cache, balanced transfers), not around them.
  refresh       vouchers.audit.spend.refresh(): folding the whole ledger into audit_spend once (the worker
                then only folds what is new, every five minutes and after each settlement)
  proof         the aggregate equals the entries: every (run, month) row of audit_spend against a fresh
                attribution of the whole ledger, and the totals against plain SQL sums over accounts and entries
  pages         GET through the Flask test client, signed in (admin: every ministry; auditor: one ministry),
                median and worst of --repeat requests: the dashboard (/audit/spend: four groupings, four charts,
                totals), the drill-down (runs of one provider, one run's enrolments, one enrolment's entries and
                audit rows), the spend API
  export        the XLSX of every ledger entry (1,000,000 rows) written by the export code, in a child process,
                with its wall time and the child's peak resident memory
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ledger import _app, on_sqlite_then_postgres  # noqa: E402

PASSWORD = "bench-password-2026"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PROGRAMMES = ("C0061", "C0104", "C0054", "C0102", "MSS-DGA", "MSIT-SWA")
FEE, SELF_PAY = 1_200_000, 300_000


def build(app, enrolments: int) -> dict:
    """Write the catalog, people and enrolments in bulk, then the ledger through its triggers."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert, select

    from courses.models import Course, Programme, Provider, Run
    from hrdnet.auth.models import User
    from hrdnet.extensions import db
    from vouchers.cards.models import Person
    from vouchers.enrolments.models import Enrolment
    from vouchers.ledger import operations as ledger
    from vouchers.ledger.models import Entry, Transfer

    runs_wanted = max(enrolments // 20, 10)
    providers_wanted = max(runs_wanted // 10, 5)
    people_wanted = max(enrolments // 5, 10)
    start = date(2026, 1, 5)
    hash_ = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("x")
    with app.app_context():
        session = db.session
        programmes = {code: session.scalar(select(Programme).where(Programme.code == code)) for code in PROGRAMMES}
        session.execute(
            insert(Provider),
            [
                {
                    "name": f"벤치 훈련기관 {n}",
                    "business_number": f"{8000000000 + n}",
                    "region_code": ("11680", "26110", "41135", "27110")[n % 4],
                    "name_key": f"bench{n}",
                }
                for n in range(providers_wanted)
            ],
        )
        provider_ids = list(session.scalars(select(Provider.id).order_by(Provider.id)))
        session.execute(
            insert(Course),
            [
                {
                    "title": f"벤치 과정 {n}",
                    "provider_id": provider_ids[n % len(provider_ids)],
                    "match_key": f"bench-{n}",
                    "ncs_code": "20010202",
                }
                for n in range(runs_wanted)
            ],
        )
        course_rows = session.execute(select(Course.id, Course.provider_id).order_by(Course.id)).all()
        run_rows = []
        for n, (course_id, provider_id) in enumerate(course_rows):
            first = start + timedelta(days=(n * 7) % 300)
            last = first + timedelta(days=59)
            code = PROGRAMMES[n % len(PROGRAMMES)]
            run_rows.append(
                {
                    "course_id": course_id,
                    "programme_id": programmes[code].id,
                    "run_number": 1,
                    "start_date": first,
                    "end_date": last,
                    "weekend": "weekday",
                    "mode": "classroom",
                    "hours": 480,
                    "days": 60,
                    "schedule": "1" * 60,
                    "schedule_source": "provider",
                    "fee": FEE,
                    "capacity": 30,
                    "source_enrolled": 0,
                    "local_enrolled": 20,
                    "status": "open",
                    "region_code": ("11680", "26110", "41135", "27110")[provider_id % 4],
                    "employment_rate_3m": 40.0 + n % 50,
                    "completers": 5 + n % 30,
                }
            )
        session.execute(insert(Run), run_rows)
        runs = session.execute(
            select(Run.id, Run.programme_id, Course.provider_id, Run.start_date)
            .join(Course, Course.id == Run.course_id)
            .order_by(Run.id)
        ).all()
        session.execute(
            insert(User),
            [
                {
                    "email": f"bench-{n}@example.com",
                    "name": "홍길동",
                    "phone": f"010-{n // 10000:04d}-{n % 10000:04d}",
                    "role": "learner",
                    "password_hash": hash_,
                    "pseudonym": f"{n:032x}",
                }
                for n in range(people_wanted)
            ],
        )
        user_ids = list(session.scalars(select(User.id).where(User.role == "learner").order_by(User.id)))
        session.execute(
            insert(Person), [{"person_key": f"{n:064x}", "birth_date": date(1990, 1, 1)} for n in range(people_wanted)]
        )
        person_ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        statuses = ("completed",) * 7 + ("dropped", "incomplete", "withdrawn")
        session.execute(
            insert(Enrolment),
            [
                {
                    "run_id": runs[n * len(runs) // enrolments].id,  # 20 learners a run, in order
                    "user_id": user_ids[n % people_wanted],
                    "person_id": person_ids[n % people_wanted],
                    "request_key": f"bench-{n}",
                    "status": statuses[(n + n // people_wanted) % len(statuses)],
                    "fee": FEE,
                    "self_pay": SELF_PAY,
                    "government_share": FEE - SELF_PAY,
                    "card_draw": 0,
                    "account": "none",
                    "explanation": "벤치",
                    "training_days": 60,
                }
                for n in range(enrolments)
            ],
        )
        session.commit()
        enrolment_rows = session.execute(select(Enrolment.id, Enrolment.run_id).order_by(Enrolment.id)).all()
        run_of = {r.id: r for r in runs}
        accounts = {}

        def account(kind: str, owner_type: str, owner_id: int) -> int:
            key = (kind, owner_type, owner_id)
            if key not in accounts:
                accounts[key] = ledger.open_account(kind, owner_type, owner_id).id
            return accounts[key]

        for programme_id in {r.programme_id for r in runs}:
            account("programme_budget", "programme", programme_id)
            account("learner_copay", "programme", programme_id)
        for provider_id in provider_ids:
            account("provider_payable", "provider", provider_id)
            account("provider_settled", "provider", provider_id)
        session.commit()
        share = FEE - SELF_PAY
        first_transfer = (session.scalar(select(Transfer.id).order_by(Transfer.id.desc()).limit(1)) or 0) + 1
        transfer_id, transfers, entries, t0 = first_transfer, [], [], time.perf_counter()
        for n, (enrolment_id, run_id) in enumerate(enrolment_rows):
            run = run_of[run_id]
            budget, copay = (
                accounts[("programme_budget", "programme", run.programme_id)],
                accounts[("learner_copay", "programme", run.programme_id)],
            )
            payable, settled = (
                accounts[("provider_payable", "provider", run.provider_id)],
                accounts[("provider_settled", "provider", run.provider_id)],
            )
            begins = datetime.combine(run.start_date, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=n % 1440)
            legs = [
                ("fund", "fund", budget, payable, share),
                ("copay", "copay", copay, payable, SELF_PAY),
                ("settle:1", "settle", payable, settled, share // 2),
                ("settle:2", "settle", payable, settled, share // 4),
                (
                    ("return", "refund", payable, budget, share - share // 2 - share // 4)
                    if n % 10 == 7
                    else ("settle-final", "settle", payable, settled, SELF_PAY)
                ),
            ]
            for (suffix, kind, debit, credit, amount), days in zip(legs, (-10, -10, 31, 61, 62), strict=True):
                transfers.append(
                    {
                        "id": transfer_id,
                        "key": f"enrolment:{enrolment_id}:{suffix}",
                        "kind": kind,
                        "entry_count": 2,
                        "total": amount,
                        "memo": "벤치",
                        "created_at": begins + timedelta(days=days),  # paid before the start, settled monthly
                    }
                )
                entries.append(
                    {"transfer_id": transfer_id, "seq": 1, "account_id": debit, "side": "debit", "amount": amount}
                )
                entries.append(
                    {"transfer_id": transfer_id, "seq": 2, "account_id": credit, "side": "credit", "amount": amount}
                )
                transfer_id += 1
            if len(transfers) >= 20_000 or n == len(enrolment_rows) - 1:
                session.execute(insert(Transfer), transfers)
                session.execute(insert(Entry), entries)
                session.commit()
                transfers, entries = [], []
        seconds = time.perf_counter() - t0
        total_entries = session.scalar(select(db.func.count()).select_from(Entry))
        moel = session.scalar(select(Programme.ministry_id).where(Programme.code == "C0061"))
        sample_run = runs[0].id
        sample_enrolment = enrolment_rows[0].id
        sample_provider = runs[0].provider_id
    return {
        "entries": total_entries,
        "ledger_seconds": seconds,
        "moel": moel,
        "run": sample_run,
        "enrolment": sample_enrolment,
        "provider": sample_provider,
        "runs": len(runs),
        "providers": len(provider_ids),
    }


def refresh_and_prove(app) -> list[tuple[str, float]]:
    from collections import Counter

    from sqlalchemy import select, text

    from hrdnet.db import unit_of_work
    from hrdnet.extensions import db
    from vouchers.audit import jobs, rules, spend
    from vouchers.audit.models import MEASURES, SpendRow

    figures = []
    with app.app_context():
        t0 = time.perf_counter()
        jobs.refresh_spend()
        figures.append(("refresh: fold the whole ledger into audit_spend (s)", time.perf_counter() - t0))
        rows = db.session.scalar(select(db.func.count()).select_from(SpendRow))
        figures.append(("audit_spend rows", rows))
        t0 = time.perf_counter()
        fresh = spend.attribute(0)
        stored = {
            (r.run_id, r.month): Counter({m: getattr(r, m) for m in MEASURES})
            for r in db.session.scalars(select(SpendRow))
        }
        recomputed = {key: Counter({m: amounts[m] for m in MEASURES}) for key, (_, amounts) in fresh.items()}
        if stored != recomputed:
            raise SystemExit("PROOF FAILED: audit_spend differs from a fresh attribution of the entries")
        totals = spend.totals(spend.Filters()).amounts
        settled = db.session.execute(text("SELECT sum(balance) FROM accounts WHERE kind = 'provider_settled'")).scalar()
        entries = db.session.execute(
            text(
                "SELECT count(*) FROM entries e JOIN transfers t ON t.id = e.transfer_id WHERE t.key LIKE 'enrolment:%'"
            )
        ).scalar()
        funded = db.session.execute(
            text(
                "SELECT sum(e.amount) FROM entries e JOIN transfers t ON t.id = e.transfer_id JOIN accounts a ON a.id = e.account_id WHERE t.kind = 'fund' AND a.kind = 'provider_payable' AND e.side = 'credit'"
            )
        ).scalar()
        if (totals["settled"], totals["entries"], totals["funded"]) != (settled, entries, funded):
            raise SystemExit(
                f"PROOF FAILED: totals {totals} vs ledger settled={settled} entries={entries} funded={funded}"
            )
        figures.append(("proof: every (run, month) row and the totals equal the entries (s)", time.perf_counter() - t0))
        with unit_of_work(write_lock=True):
            assert spend.refresh() == 0
        t0 = time.perf_counter()
        with unit_of_work(write_lock=True):
            flagged = sum(rules.run().values())
        figures.append((f"risk rules over everything, {flagged:,} findings (s)", time.perf_counter() - t0))
    return figures


def _login(client, email: str) -> None:
    import pyotp

    def token(path: str) -> str:
        body = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)

    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token("/login")})
    assert response.status_code == 302, response.status_code
    response = client.post("/login/2fa", data={"code": pyotp.TOTP(TOTP).now(), "csrf_token": token("/login/2fa")})
    assert response.status_code == 302, response.status_code


def pages(app, world: dict, repeat: int) -> list[tuple[str, float, float]]:
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    tokens = {}
    with app.app_context(), unit_of_work(write_lock=True):
        for email, role, org in (("admin@bench.kr", "admin", None), ("auditor@bench.kr", "auditor", "MOEL")):
            user = services.create_user(email=email, role=role, name="벤치", org_code=org, password=PASSWORD)
            user.totp_secret = TOTP
            tokens[role] = {"Authorization": f"Bearer {services.issue_api_token(user, 'bench').token}"}
    results = []
    for who in ("admin", "auditor"):
        client = app.test_client()
        _login(client, f"{who}@bench.kr")
        paths = [
            ("dashboard /audit/spend", "/audit/spend"),
            ("auditor home /audit/", "/audit/") if who == "auditor" else None,
            ("drill: runs of a provider", f"/audit/runs?provider={world['provider']}"),
            ("drill: one run's enrolments", f"/audit/runs/{world['run']}"),
            ("drill: one enrolment's entries", f"/audit/enrolments/{world['enrolment']}"),
            ("API spend by provider", "/api/v1/audit/spend?group_by=provider"),
        ]
        for label, path in filter(None, paths):
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(path, headers=tokens[who] if path.startswith("/api/") else None)
                times.append(time.perf_counter() - t0)
                if response.status_code not in (200, 401, 404):
                    raise SystemExit(f"{path}: {response.status_code}")
            results.append(
                (f"{who}: {label} [{response.status_code}]", statistics.median(times) * 1000, max(times) * 1000)
            )
    return results


def export_child(database_url: str, workdir: str) -> None:
    """Run in a child process: write the XLSX of every entry, print rows, seconds and peak memory."""
    from hrdnet.extensions import db
    from vouchers.audit import exports
    from vouchers.audit.spend import Filters

    logging.disable(logging.INFO)
    app = _app(database_url, Path(workdir), 1)
    with app.app_context():
        counted = {"rows": 0}
        table = exports.entries_table(Filters())
        inner = table.rows

        def counting():
            for row in inner:
                counted["rows"] += 1
                yield row

        table.rows = counting()
        t0 = time.perf_counter()
        path = exports.xlsx_file(table, {"table": "entries"}, datetime.now(UTC))
        seconds = time.perf_counter() - t0
        size = os.path.getsize(path)
        os.unlink(path)
        db.engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"EXPORT rows={counted['rows']} seconds={seconds:.1f} peak_mb={peak:.0f} size_mb={size / 1e6:.1f}")


def run_backend(name: str, url: str, workdir: Path, args) -> None:
    from flask_migrate import upgrade

    from hrdnet.extensions import db

    app = _app(url, workdir, 1)
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        upgrade()
    t0 = time.perf_counter()
    world = build(app, args.enrolments)
    print(
        f"\n{name}: {args.enrolments:,} enrolments, {world['entries']:,} ledger entries, {world['runs']:,} runs, "
        f"{world['providers']:,} providers (set-up {time.perf_counter() - t0:.0f} s, ledger inserts {world['ledger_seconds']:.0f} s)"
    )
    for label, value in refresh_and_prove(app):
        print(f"  {label:<72} {value:>10,.1f}")
    for label, median, worst in pages(app, world, args.repeat):
        print(f"  {label:<60} median {median:>7.0f} ms   worst {worst:>7.0f} ms")
    if not args.no_export:
        child = subprocess.run(
            [sys.executable, __file__, "--export-child", url, str(workdir)], capture_output=True, text=True, check=False
        )
        line = next((ln for ln in child.stdout.splitlines() if ln.startswith("EXPORT")), None)
        if line is None:
            print("  export failed:", child.stderr[-2000:])
        else:
            figures = dict(part.split("=") for part in line.split()[1:])
            print(
                f"  XLSX export of {int(figures['rows']):,} entry rows: {figures['seconds']} s, child peak RSS "
                f"{figures['peak_mb']} MB, file {figures['size_mb']} MB"
            )
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enrolments", type=int, default=100_000, help="enrolments (ten ledger entries each)")
    parser.add_argument("--repeat", type=int, default=7, help="requests per page")
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--export-child", nargs=2, metavar=("URL", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if args.export_child:
        export_child(*args.export_child)
        return
    on_sqlite_then_postgres(
        "hrdnet-bench-audit-",
        lambda backend, url, workdir: run_backend(backend, url, workdir, args),
        postgres=args.postgres,
    )


if __name__ == "__main__":
    main()
