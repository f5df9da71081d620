"""Search indexes for tests, built by the real indexer from catalog rows in a real database."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, timedelta

from sqlalchemy import select, text

from courses.ingest.importer import import_records
from courses.ingest.records import FeedRecord
from hrdnet import create_app, outbox
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today
from tests.support.catalog import Catalog


def rebuild_search_index():
    """Rebuild the index from the database as `hrdnet search reindex` does (the test's writes committed first),
    with the app's search backend (SEARCH_BACKEND)."""
    from search.engine import rebuild

    db.session.commit()
    return rebuild()


SEARCH_BACKENDS = ("whoosh", "postgresql")  # params of the module-scoped catalogs that run on both engines


def indexed_catalog(request, tmp_path_factory, name: str, build, backend: str = "whoosh", rebuilt: list | None = None):
    """For a module-scoped fixture: its own migrated database, `build(Catalog(today))` written, the index
    built; yields what build returned, inside the app context. `today` is taken once, when the module's catalog
    is built, and is the date its tests reason about (`catalog.today`). The rebuild's result (.runs, .courses)
    is appended to `rebuilt` when given.

    backend "whoosh": a SQLite copy and the Whoosh index; "postgresql": a PostgreSQL database made from the
    migrated template and the PostgreSQL search backend (search.pg)."""
    from search.engine import rebuild
    from tests.conftest import _pg_admin_engine, _test_config, postgres_url  # tests/conftest.py imports this

    folder = tmp_path_factory.mktemp(name)
    database = None
    if backend == "postgresql":
        database = f"hrdnet_m_{uuid.uuid4().hex[:12]}"
        template = request.getfixturevalue("postgres_template")
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template}"'))
        url = postgres_url(database)
    else:
        path = folder / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    config = _test_config(folder, url) | {"SEARCH_BACKEND": backend, "SEARCH_PG_SNAPSHOT_SECONDS": 0}
    app = create_app(config)
    try:
        with app.app_context():
            built = build(Catalog(kst_today()))
            db.session.commit()
            result = rebuild()
            if rebuilt is not None:
                rebuilt.append(result)
            yield built
            db.session.remove()
            db.engine.dispose()
    finally:
        if database:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


# -- the catalog-to-search path: feed records imported, the outbox delivered -----------------------------


def feed_record(today: date, n: int, title: str, **values) -> FeedRecord:
    start = today + timedelta(days=10 + n)
    return FeedRecord(
        **{
            "position": f"record {n}",
            "course_id": f"AIG2026{n // 2:09d}",
            "run_number": n % 2 + 1,
            "title": title,
            "provider_name": "한빛 디지털아카데미",
            "provider_id": "500001",
            "start_date": start,
            "end_date": start + timedelta(days=60),
            "fee": 1_000_000,
            "capacity": 20,
            "programme_code": "C0104",
            "ncs_code": "20010202",
            "region_code": "11680",
            "contents": f"{title} 과정입니다.",
            **values,
        }
    )


def do_import(records: list[FeedRecord], covering: list[FeedRecord] | None = None):
    """Import records as one feed covering their start dates (or those of `covering`)."""
    span = [r.start_date for r in (covering or records)]
    return import_records(
        iter(records), source="hrdnet", fmt="test", actor="test", range_from=min(span), range_to=max(span)
    )


def deliver() -> int:
    db.session.commit()
    return outbox.deliver_pending()


def pending_topics() -> list[str]:
    db.session.rollback()
    return [
        item.topic
        for item in db.session.scalars(
            select(outbox.OutboxItem).where(outbox.OutboxItem.status == outbox.PENDING).order_by(outbox.OutboxItem.id)
        )
    ]
