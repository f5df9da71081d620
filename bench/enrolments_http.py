#!/usr/bin/env python
"""HTTP enrolment benchmark: `POST /api/v1/enrolments` with an Idempotency-Key, under gunicorn, on loopback.

    .venv/bin/python bench/enrolments_http.py                  # PostgreSQL, 1,000 requests, 4 clients
    .venv/bin/python bench/enrolments_http.py --requests 300 --clients 2,8 --workers 2 --threads 4

Figures, not pass/fail (bench/README.md). A throw-away PostgreSQL database built by the migrations, learners
with cards and API tokens written in bulk (bench/enrolments.py's World), then gunicorn serving
`hrdnet:create_app()` (local payment backend: each request is hold → payment → confirm) and client threads,
each with its own keep-alive connection and its own learners (a distinct card per request). Two servers of
the same shape run side by side: the single path (ENROL_BATCHING=0: checkout.enrol, one request at a time) and
the batched path (ENROL_BATCHING=1: each worker's batching writer, answers stored set-based in the batch's
outcome transaction). Reports, per client count, requests/s and p50/p95/p99 latency of both, measured one
after the other in the same run, then the same checks as bench/enrolments.py (ledger verify, audit verify,
every card exact, no pending hold) and that every request was confirmed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.enrolments import FUNDED, SEATS, StatementCount, World, check  # noqa: E402
from bench.ledger import POSTGRES_ADMIN_URL, _app  # noqa: E402


def tokens_for(app, user_ids: list[int]) -> list[str]:
    """An API token per learner (set-up, not measured)."""
    from hrdnet.auth import services
    from hrdnet.auth.models import User
    from hrdnet.db import unit_of_work
    from hrdnet.extensions import db

    with app.app_context(), unit_of_work(write_lock=True):
        return [services.issue_api_token(db.session.get(User, user_id), "bench").token for user_id in user_ids]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PATHS = {"single": "0", "batched": "1"}  # ENROL_BATCHING per gunicorn launch


def serve(database_url: str, workdir: Path, port: int, workers: int, threads: int, batching: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "ENROL_BATCHING": batching,
        "HRDNET_ENV": "development",
        "DATABASE_URL": database_url,
        "SEARCH_INDEX_DIR": str(workdir / "index"),
        "MAIL_BACKEND": "file",
        "MAIL_DIR": str(workdir / "mail"),
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "hrdnet:create_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start listening within 60 s")


def fire(port: int, jobs: list[tuple[str, int]], clients: int, tag: str) -> tuple[float, list[float], list[str]]:
    """Send every (token, run id) job once, spread over `clients` threads; returns (seconds, latencies,
    failures)."""
    latencies: list[float] = []
    failures: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        for i in range(offset, len(jobs), clients):
            token, run_id = jobs[i]
            started = time.perf_counter()
            connection.request(
                "POST",
                "/api/v1/enrolments",
                body=json.dumps({"run_id": run_id}),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"{tag}-{i}",
                    "Content-Type": "application/json",
                },
            )
            response = connection.getresponse()
            body = response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 201 or json.loads(body).get("status") != "confirmed":
                failures.append(f"{response.status} {body[:200]!r}")
        connection.close()

    pool = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, latencies, failures


class _EveryThread(StatementCount):
    """StatementCount over every thread of the process (the request threads and the batching writer's)."""

    def _mine(self) -> bool:
        return True


def count_statements(app, world: World, users: list[int], count: int, batched: bool) -> None:
    """Per request, in process (Flask's test client; load-independent figures): the SQL statements and
    transactions `POST /api/v1/enrolments` sends, user look-up and Idempotency-Key included. Single path: one
    request after another on one thread. Batched: `count` requests sent at once from `count` threads to a writer
    that waits for all of them (one batch of `count`), its statements shared among them."""
    from hrdnet.extensions import db

    tokens, runs, tag = tokens_for(app, users), world.runs(-(-count // SEATS) + 1), uuid.uuid4().hex[:8]
    app.config.update(ENROL_BATCHING=batched, ENROL_BATCH_SIZE=count, ENROL_BATCH_LINGER_SECONDS=30.0)

    def post(i: int) -> None:
        with app.app_context():
            response = app.test_client().post(
                "/api/v1/enrolments",
                json={"run_id": runs[i % len(runs)]},
                headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": f"{tag}-{i}"},
            )
            db.session.remove()
        assert response.status_code == 201 and response.json["status"] == "confirmed", response.get_data()[:300]

    if not batched:
        post(count)  # first-use reads
    with app.app_context():
        counter = (_EveryThread if batched else StatementCount)(db.engine)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        if batched:
            senders = [threading.Thread(target=post, args=(i,)) for i in range(count)]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
        else:
            for i in range(count):
                post(i)
    finally:
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        counter.close()
    how = f"batched, {count} at once" if batched else "single path"
    print(
        f"  per request ({how}): {counter.statements / count:.1f} statements, {counter.begins / count:.2f} "
        f"transactions ({counter.commits / count:.2f} commits, {counter.rollbacks / count:.2f} rollbacks); "
        f"this process's CPU {cpu / count * 1000:.1f} ms, wall {wall / count * 1000:.1f} ms per request",
        flush=True,
    )


def batch_size(app, tag: str) -> str:
    """The row's mean enrolments per intent transaction: a batch stamps its enrolments' created_at once."""
    from sqlalchemy import text

    from hrdnet.extensions import db

    with app.app_context():
        enrolments, stamps = db.session.execute(
            text("SELECT count(*), count(DISTINCT created_at) FROM enrolments WHERE request_key LIKE :tag"),
            {"tag": f"{tag}-%"},
        ).one()
        db.session.remove()
    return f"{enrolments / max(stamps, 1):.1f} per transaction"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(database_url: str, workdir: Path, args) -> None:
    from flask_migrate import upgrade

    from hrdnet.extensions import db

    app = _app(database_url, workdir, 24)
    app.config["PASSWORD_HASH_PROFILE"] = "CHEAPEST"
    with app.app_context():
        upgrade()
        db.session.remove()
    total = args.requests * len(args.clients)
    total = args.requests * len(args.clients) * len(PATHS)
    counted = 20
    world = World(app, total + 2 * counted + 30)  # the last learners are count_statements()'
    world.build()
    tokens = tokens_for(app, world.users[1 : total + 1])  # learner 0 is bench/enrolments.py's hot card
    runs = world.runs(-(-total // SEATS))
    ports = {path: free_port() for path in PATHS}
    threads = {"single": args.threads, "batched": args.batched_threads or args.threads}
    servers = {
        path: serve(database_url, workdir, ports[path], args.workers, threads[path], batching)
        for path, batching in PATHS.items()
    }
    print(
        f"\nHTTP under gunicorn ({args.workers} workers × {threads['single']} threads single, × "
        f"{threads['batched']} batched), PostgreSQL, "
        f"{args.requests:,} requests per row, each on its own card; single path and batched path side by side; "
        f"load average {_load()}",
        flush=True,
    )
    count_statements(app, world, world.users[-2 * counted - 1 : -counted], counted, batched=False)
    count_statements(app, world, world.users[-counted:], counted, batched=True)
    print(
        f"  {'path':>8} {'clients':>7} {'requests':>8} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   "
        "failures  enrolments per intent transaction"
    )
    try:
        done = 0
        for clients in args.clients:
            for path in PATHS:  # one after the other at each client count: the same load for both
                jobs = [(tokens[done + i], runs[(done + i) % len(runs)]) for i in range(args.requests)]
                tag = uuid.uuid4().hex[:8]
                seconds, latencies, failures = fire(ports[path], jobs, clients, tag)
                done += args.requests
                p50, p95, p99 = (percentile(latencies, share) * 1000 for share in (0.5, 0.95, 0.99))
                print(
                    f"  {path:>8} {clients:>7} {args.requests:>8,} {args.requests / seconds:>8,.0f} {p50:>8.1f} "
                    f"{p95:>8.1f} {p99:>8.1f}   {len(failures)} {failures[:1]}  {batch_size(app, tag)}",
                    flush=True,
                )
                assert not failures, failures[:3]
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(30)
    check(app, FUNDED)
    print(f"  load average after: {_load()}", flush=True)
    with app.app_context():
        db.engine.dispose()


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000, help="requests per row")
    parser.add_argument("--clients", default="1,4,8", help="comma-separated client thread counts")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument(
        "--batched-threads", type=int, default=0, help="threads per worker of the batched server (default --threads)"
    )
    args = parser.parse_args()
    args.clients = [int(n) for n in args.clients.split(",")]
    logging.disable(logging.INFO)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hrdnet_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="hrdnet-bench-http-") as folder:
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            run(url, Path(folder), args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
