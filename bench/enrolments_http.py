#!/usr/bin/env python
"""HTTP enrolment benchmark: `POST /api/v1/enrolments` with an Idempotency-Key, under gunicorn, on loopback.

    .venv/bin/python bench/enrolments_http.py                  # PostgreSQL, 1,000 requests, 4 clients
    .venv/bin/python bench/enrolments_http.py --requests 300 --clients 2,8 --workers 2 --threads 4

Figures, not pass/fail (bench/README.md). A throw-away PostgreSQL database built by the migrations, learners
with cards and API tokens written in bulk (bench/enrolments.py's World), then gunicorn serving
`hrdnet:create_app()` (local payment backend: each request is hold → payment → confirm) and client threads,
each with its own keep-alive connection and its own learners (a distinct card per request). Reports
requests/s and p50/p95/p99 latency per client count, then the same checks as bench/enrolments.py (ledger
verify, audit verify, every card exact, no pending hold) and that every request was confirmed.
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


def serve(database_url: str, workdir: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
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


def count_statements(app, world: World, count: int = 20) -> None:
    """Per request, in process (Flask's test client, one thread): the SQL statements and transactions one
    `POST /api/v1/enrolments` sends, user look-up and Idempotency-Key included (load-independent figures)."""
    from hrdnet.extensions import db

    users = world.users[-count - 1 :]
    tokens, runs, tag = tokens_for(app, users), world.runs(-(-count // SEATS) + 1), uuid.uuid4().hex[:8]
    client = app.test_client()

    def post(i: int) -> None:
        response = client.post(
            "/api/v1/enrolments",
            json={"run_id": runs[i % len(runs)]},
            headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": f"{tag}-{i}"},
        )
        assert response.status_code == 201 and response.json["status"] == "confirmed", response.get_data()[:300]

    post(count)  # first-use reads
    with app.app_context():
        counter = StatementCount(db.engine)
    try:
        for i in range(count):
            post(i)
    finally:
        counter.close()
    print(
        f"  per request: {counter.statements / count:.1f} statements, {counter.begins / count:.1f} transactions "
        f"({counter.commits / count:.1f} commits, {counter.rollbacks / count:.1f} rollbacks)",
        flush=True,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(database_url: str, workdir: Path, args) -> None:
    from flask_migrate import upgrade

    from hrdnet.extensions import db

    app = _app(database_url, workdir, 4)
    app.config["PASSWORD_HASH_PROFILE"] = "CHEAPEST"
    with app.app_context():
        upgrade()
        db.session.remove()
    total = args.requests * len(args.clients)
    world = World(app, total + 30)  # the last 21 learners are count_statements()'
    world.build()
    tokens = tokens_for(app, world.users[1 : total + 1])  # learner 0 is bench/enrolments.py's hot card
    runs = world.runs(-(-total // SEATS))
    port = free_port()
    server = serve(database_url, workdir, port, args.workers, args.threads)
    print(
        f"\nHTTP under gunicorn ({args.workers} workers × {args.threads} threads), PostgreSQL, "
        f"{args.requests:,} requests per row, each on its own card; load average {_load()}",
        flush=True,
    )
    count_statements(app, world)
    print(f"  {'clients':>7} {'requests':>8} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   failures")
    try:
        done = 0
        for clients in args.clients:
            jobs = [(tokens[done + i], runs[(done + i) % len(runs)]) for i in range(args.requests)]
            seconds, latencies, failures = fire(port, jobs, clients, uuid.uuid4().hex[:8])
            done += args.requests
            p50, p95, p99 = (percentile(latencies, share) * 1000 for share in (0.5, 0.95, 0.99))
            print(
                f"  {clients:>7} {args.requests:>8,} {args.requests / seconds:>8,.0f} {p50:>8.1f} {p95:>8.1f} "
                f"{p99:>8.1f}   {len(failures)} {failures[:1]}",
                flush=True,
            )
            assert not failures, failures[:3]
    finally:
        server.terminate()
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
