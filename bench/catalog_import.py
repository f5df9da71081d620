#!/usr/bin/env python
"""Catalog import benchmark: how fast and how lean `import_file` is on an HRD-Net-sized feed.

    .venv/bin/python bench/catalog_import.py                 # 120,000 runs, SQLite (+ PostgreSQL if reachable)
    .venv/bin/python bench/catalog_import.py --runs 12000    # quicker
    make bench RUNS=12000

It prints figures beside the targets and beside baselines measured in the same run; it never fails on
a slow result (bench/README.md explains how to read the output). Every measured step runs in its own
process, whose peak resident memory the parent reads from os.wait4() (the kernel's ru_maxrss for exactly
that child), so one step's memory never hides another's.

Steps, on fresh databases migrated with the project's migrations:
  generate        courses.demo writes the HRD-Net XML files (N runs; N/10 runs; N runs with 10 % changed)
  parse only      baseline: hrdnet_xml.parse over the N-run file, records/s (the importer reads the file
                  twice, a dry pass and the import pass, so parsing alone bounds it at half this rate)
  naive ORM       baseline: one-run-at-a-time ORM upsert (a query per lookup, one commit per run) of the
                  first --naive-sample runs, the way a first version of an importer is usually written
  first N/10      import into an empty database
  first N         import into an empty database
  re-import       the same file again: every run unchanged
  10 % changed    the same runs, 10 % with a new enrolment count (some a new fee)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ANCHOR = date(2026, 11, 1)  # fixed, so figures from different days compare
SEED = 1
TARGET_FIRST = 2_000  # runs/s, first import
TARGET_UNCHANGED = 10_000  # runs/s, re-import of an unchanged file
TARGET_RSS_MB = 300  # peak RSS of the importing process
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# -- the measured steps (run in a child process) ------------------------------------------------------


def _app(database_url: str, workdir: Path):
    from hrdnet import create_app

    return create_app(
        {
            "HRDNET_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "MAIL_BACKEND": "file",
            "MAIL_DIR": str(workdir / "mail"),
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
        }
    )


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(args: argparse.Namespace) -> None:
    import logging

    logging.disable(logging.INFO)
    workdir = Path(args.workdir)
    out: dict = {}
    if args.child == "generate":
        from courses.demo import generate

        started = time.perf_counter()
        folder = workdir / args.name
        generate(folder, runs=args.runs, seed=SEED, anchor=ANCHOR, churn=args.churn, hrdnet_only=True)
        (folder / "hrdnet.xml").rename(workdir / f"{args.name}.xml")
        folder.rmdir()
        out = {"seconds": time.perf_counter() - started, "records": args.runs}
    elif args.child == "parse":
        from courses.ingest import hrdnet_xml
        from courses.ingest.records import FeedRecord

        out["rss_start_kb"] = _maxrss_kb()
        started = time.perf_counter()
        records = rejected = 0
        with open(args.file, "rb") as stream:
            for item in hrdnet_xml.parse(stream, source="hrdnet"):
                if isinstance(item, FeedRecord):
                    records += 1
                else:
                    rejected += 1
        out.update(seconds=time.perf_counter() - started, records=records + rejected, rejected=rejected)
    else:
        app = _app(args.db, workdir)
        with app.app_context():
            if args.child == "migrate":
                from flask_migrate import upgrade

                upgrade()
            elif args.child == "import":
                out = _measure(lambda: _import(args), args.profile)
            elif args.child == "naive":
                out = _measure(lambda: _naive(args), args.profile)
    print(json.dumps(out))


def _measure(step, profile_path: str | None) -> dict:
    out = {"rss_start_kb": _maxrss_kb()}
    started = time.perf_counter()
    if profile_path:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        counts = profiler.runcall(step)
        with open(profile_path, "w") as handle:
            pstats.Stats(profiler, stream=handle).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler, stream=handle).sort_stats("tottime").print_stats(25)
    else:
        counts = step()
    out.update(counts, seconds=time.perf_counter() - started)
    return out


def _import(args) -> dict:
    from courses.ingest.importer import import_file

    result = import_file(Path(args.file), "hrdnet-xml", source="hrdnet", actor="bench")
    return {
        "records": result.records + result.rejected,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "status": result.status,
    }


def _naive(args) -> dict:
    """Baseline: the obvious ORM importer: look everything up one query at a time, commit every run."""
    from itertools import islice

    from sqlalchemy import select

    from courses import matching
    from courses.ingest import hrdnet_xml
    from courses.ingest.importer import RUN_FIELDS, content_hash
    from courses.ingest.records import FeedRecord
    from courses.models import Course, CourseListing, Programme, Provider, ProviderSourceId, Run, SourceRecord
    from hrdnet.extensions import db
    from hrdnet.timeutil import utcnow

    session = db.session
    counts = {"records": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    with open(args.file, "rb") as stream:
        for item in islice(hrdnet_xml.parse(stream, source="hrdnet"), args.limit):
            counts["records"] += 1
            if not isinstance(item, FeedRecord):
                counts["rejected"] += 1
                continue
            digest = content_hash(item)
            known = session.scalar(
                select(SourceRecord).where(SourceRecord.source == "hrdnet", SourceRecord.external_key == item.key)
            )
            values = {name: getattr(item, name) for name in RUN_FIELDS}
            values["programme_id"] = session.scalar(select(Programme.id).where(Programme.code == item.programme_code))
            if known is not None:
                known.last_seen = utcnow()
                if known.content_hash == digest:
                    counts["unchanged"] += 1
                else:
                    run = session.get(Run, known.run_id)
                    for name, value in values.items():
                        setattr(run, name, value)
                    known.content_hash = digest
                    counts["updated"] += 1
                session.commit()
                continue
            link = session.scalar(
                select(ProviderSourceId).where(
                    ProviderSourceId.source == "hrdnet", ProviderSourceId.external_id == item.provider_id
                )
            )
            if link is None:
                provider = Provider(
                    name=item.provider_name,
                    name_key=matching.normalise_name(item.provider_name),
                    region_code=item.region_code,
                    address=item.address,
                    phone=item.phone,
                )
                session.add(provider)
                session.flush()
                session.add(ProviderSourceId(provider_id=provider.id, source="hrdnet", external_id=item.provider_id))
                provider_id = provider.id
            else:
                provider_id = link.provider_id
            listing = session.scalar(
                select(CourseListing).where(
                    CourseListing.source == "hrdnet", CourseListing.external_id == item.course_id
                )
            )
            if listing is None:
                course = Course(
                    title=item.title,
                    provider_id=provider_id,
                    ncs_code=item.ncs_code,
                    match_key=matching.match_key(item.title, provider_id),
                    contents=item.contents,
                    certificate=item.certificate,
                )
                session.add(course)
                session.flush()
                listing = CourseListing(
                    course_id=course.id, source="hrdnet", external_id=item.course_id, title=item.title, url=item.url
                )
                session.add(listing)
                session.flush()
            run = Run(course_id=listing.course_id, listing_id=listing.id, status="open", local_enrolled=0, **values)
            session.add(run)
            session.flush()
            session.add(SourceRecord(run_id=run.id, source="hrdnet", external_key=item.key, content_hash=digest))
            session.commit()
            counts["created"] += 1
    return counts


# -- the parent: run the steps, print the table --------------------------------------------------------


class Step:
    def __init__(self, label: str, data: dict, rss_kb: int, wall: float):
        self.label, self.data, self.rss_kb, self.wall = label, data, rss_kb, wall

    @property
    def rate(self) -> float:
        return self.data.get("records", 0) / self.data["seconds"] if self.data.get("seconds") else 0.0


def run_child(args: argparse.Namespace, step: str, label: str, **options) -> Step:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--workdir", str(args.workdir)]
    for name, value in options.items():
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    stderr_path = Path(args.workdir) / "child-stderr.txt"
    started = time.perf_counter()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=ROOT)
        output = process.stdout.read()
        process.stdout.close()
        _pid, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS, not the max over all
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.stderr.write(stderr_path.read_text(errors="replace")[-4000:])
        raise SystemExit(f"step {label!r} failed (exit {process.returncode})")
    return Step(label, json.loads(output.decode().strip().splitlines()[-1]), usage.ru_maxrss, wall)


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MB"


def _row(label: str, runs: str, rate: str, seconds: str, rss: str, note: str = "") -> str:
    return f"  {label:<38} {runs:>9} {rate:>11} {seconds:>9} {rss:>10}   {note}"


def _verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value < target
    return "meets" if ok else "MISSES"


def _postgres_available() -> str | None:
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
        return version
    except Exception:  # noqa: BLE001 - any failure just means "no PostgreSQL here"
        return None


def _pg_admin(statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def _pg_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


class Backend:
    """Fresh, migrated databases of one kind."""

    def __init__(self, kind: str, args: argparse.Namespace):
        self.kind, self.args, self.created = kind, args, []
        if kind == "sqlite":
            self.template = Path(args.workdir) / "template.sqlite3"
            run_child(args, "migrate", "migrate", db=f"sqlite:///{self.template}")
        else:
            self.template = f"hrdnet_bench_tpl_{os.getpid()}"
            _pg_admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            run_child(args, "migrate", "migrate", db=_pg_url(self.template))

    def fresh(self, name: str) -> str:
        if self.kind == "sqlite":
            path = Path(self.args.workdir) / f"{name}.sqlite3"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        database = f"hrdnet_bench_{name}_{uuid.uuid4().hex[:6]}"
        _pg_admin(f'CREATE DATABASE "{database}" TEMPLATE "{self.template}"')
        self.created.append(database)
        return _pg_url(database)

    def close(self) -> None:
        for database in reversed(self.created):
            _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def measure_backend(args, backend: Backend, files: dict[str, Path]) -> list[Step]:
    profile = Path(args.workdir) / f"profile-{backend.kind}-first.txt" if args.profile else None
    steps = [
        run_child(
            args,
            "naive",
            f"baseline: naive ORM upsert ({args.naive_sample:,} runs)",
            db=backend.fresh("naive"),
            file=files["big"],
            limit=args.naive_sample,
        )
    ]
    steps.append(
        run_child(args, "import", f"first import, {args.small:,} runs", db=backend.fresh("small"), file=files["small"])
    )
    big = backend.fresh("big")
    steps.append(
        run_child(
            args,
            "import",
            f"first import, {args.runs:,} runs{' (profiled)' if profile else ''}",
            db=big,
            file=files["big"],
            profile_path=profile,
        )
    )
    steps.append(run_child(args, "import", "re-import, unchanged", db=big, file=files["big"]))
    steps.append(run_child(args, "import", "import, 10 % changed", db=big, file=files["changed"]))
    return steps


def print_backend(kind: str, version: str, steps: list[Step], parse_rate: float, idle_kb: int) -> None:
    naive, small, first, again, changed = steps
    print(f"\n{kind} {version}")
    print(_row("step", "runs", "runs/s", "seconds", "peak RSS", "target / result"))
    print(
        _row(
            naive.label,
            f"{naive.data['records']:,}",
            f"{naive.rate:,.0f}",
            f"{naive.data['seconds']:.1f}",
            _mb(naive.rss_kb),
            "baseline",
        )
    )
    for step, note in (
        (small, f"created {small.data['created']:,}, rejected {small.data['rejected']:,}"),
        (
            first,
            f"≥ {TARGET_FIRST:,} runs/s: {_verdict(first.rate, TARGET_FIRST)}; "
            f"< {TARGET_RSS_MB} MB: {_verdict(first.rss_kb / 1024, TARGET_RSS_MB, False)}; "
            f"{first.rate / naive.rate if naive.rate else 0:,.1f}× naive",
        ),
        (
            again,
            f"≥ {TARGET_UNCHANGED:,} runs/s: {_verdict(again.rate, TARGET_UNCHANGED)}; "
            f"unchanged {again.data['unchanged']:,}, created {again.data['created']}, "
            f"updated {again.data['updated']}",
        ),
        (changed, f"updated {changed.data['updated']:,}, unchanged {changed.data['unchanged']:,}"),
    ):
        print(
            _row(
                step.label,
                f"{step.data['records']:,}",
                f"{step.rate:,.0f}",
                f"{step.data['seconds']:.1f}",
                _mb(step.rss_kb),
                note,
            )
        )
    worst = max(s.rss_kb for s in (small, first, again, changed))
    print(
        f"  memory: {_mb(small.rss_kb)} at {small.data['records']:,} runs vs {_mb(first.rss_kb)} at "
        f"{first.data['records']:,} runs (×{first.rss_kb / small.rss_kb:.2f} for ×"
        f"{first.data['records'] / small.data['records']:.0f} the file); worst step {_mb(worst)}, of which "
        f"{_mb(idle_kb)} is the interpreter with the app loaded"
    )
    if parse_rate:
        share = 2 * first.data["records"] / parse_rate / first.data["seconds"]
        print(f"  parsing (two passes at the parse-only rate) is ~{share:.0%} of the first import's time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=120_000, help="runs in the big file (default 120,000)")
    parser.add_argument("--small", type=int, default=None, help="runs in the small file (default runs/10)")
    parser.add_argument("--naive-sample", type=int, default=2_000, help="runs the naive baseline imports")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="cProfile the first big import (text report kept)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (feeds, databases, profiles)")
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    for name in ("db", "file", "name", "profile-path"):
        parser.add_argument(f"--{name}", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--churn", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.profile = args.profile_path
        child(args)
        return
    args.small = args.small or max(1, args.runs // 10)
    args.naive_sample = min(args.naive_sample, args.runs)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    args.workdir = Path(tempfile.mkdtemp(prefix="catalog-import-", dir=results))
    try:
        _run(args)
    finally:
        if args.keep or args.profile:
            print(f"\nwork folder kept: {args.workdir}")
        else:
            shutil.rmtree(args.workdir, ignore_errors=True)


def _run(args: argparse.Namespace) -> None:
    import sqlite3

    print(f"catalog import benchmark — HRD-Net XML feed from courses.demo (seed {SEED}, anchor {ANCHOR})")
    print(
        f"  Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"{platform.machine()} {platform.system()}"
    )
    print(
        f"  targets: first import ≥ {TARGET_FIRST:,} runs/s, unchanged re-import ≥ {TARGET_UNCHANGED:,} runs/s, "
        f"peak RSS < {TARGET_RSS_MB} MB; figures, not pass/fail"
    )
    files = {}
    print()
    for key, runs, churn in (("big", args.runs, 0.0), ("small", args.small, 0.0), ("changed", args.runs, 0.1)):
        step = run_child(args, "generate", f"generate {key}", name=key, runs=runs, churn=churn)
        files[key] = Path(args.workdir) / f"{key}.xml"
        print(
            f"  generated {key + '.xml':<12} {runs:>9,} runs {files[key].stat().st_size / 1e6:>8.1f} MB "
            f"in {step.data['seconds']:5.1f} s ({runs / step.data['seconds']:>7,.0f} runs/s, "
            f"peak RSS {_mb(step.rss_kb)})"
        )
    parse = run_child(args, "parse", "baseline: parse only", file=files["big"])
    print(
        f"\nbaseline: parse only (hrdnet_xml.parse, no database): {parse.data['records']:,} records in "
        f"{parse.data['seconds']:.1f} s = {parse.rate:,.0f} records/s, peak RSS {_mb(parse.rss_kb)} "
        f"(interpreter + lxml {_mb(parse.data['rss_start_kb'])})"
    )
    backends = [("sqlite", f"(file, WAL) {sqlite3.sqlite_version}")]
    if not args.no_postgres:
        version = _postgres_available()
        if version:
            backends.append(("postgresql", version))
        else:
            print(f"\nPostgreSQL not reachable at {POSTGRES_ADMIN_URL}: skipped")
    for kind, version in backends:
        backend = Backend(kind, args)
        try:
            steps = measure_backend(args, backend, files)
        finally:
            backend.close()
        idle = min(s.data.get("rss_start_kb", 0) for s in steps[1:])
        print_backend(kind, version, steps, parse.rate, idle)
    if args.profile:
        for kind, _version in backends:
            print(f"  profile of the first {kind} import: {Path(args.workdir) / f'profile-{kind}-first.txt'}")


if __name__ == "__main__":
    main()
