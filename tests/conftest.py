"""Fixtures shared by the whole suite.

Databases: every test gets a fresh database built from the migrations (never from create_all), so the
migrations are exercised by every run. SQLite: the schema is migrated once per session into a template file
that each test copies. PostgreSQL (127.0.0.1:5432, database `test`, trust auth): the schema is migrated
once into a template database and each test gets `CREATE DATABASE ... TEMPLATE`, dropped afterwards
on background threads (the `postgres_dropper` session fixture) while the next tests run.

Tests marked `both_dbs` run once per backend; the rest run on SQLite. Everything that moves money is
marked `both_dbs`.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import fcntl
import ipaddress
import os
import re
import shutil
import socket
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import date
from pathlib import Path

import pyotp
import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from hrdnet import create_app
from hrdnet.access import Role
from hrdnet.extensions import db
from tests.support.catalog import Catalog
from tests.support.clock import Clock
from tests.support.search_index import rebuild_search_index
from tests.support.vouchers import VoucherWorld

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct-horse-battery"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


# -- no network beyond loopback ----------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise AssertionError(f"test tried to reach {address!r}: tests must stay on loopback")
        return real(sock, address)

    return connect


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))


# -- databases ---------------------------------------------------------------------------------------


def pytest_collection_modifyitems(items):
    """PostgreSQL takes 100 connections: the PostgreSQL runs of tests marked many_connections (60 at once) share
    one xdist worker, so two of them never run together; the rest of the suite spreads over the other workers
    meanwhile. Their SQLite runs open no server connections and are not grouped: pinned to the same worker they
    only made that worker's queue (the run's tail) longer."""
    for item in items:
        on_sqlite = getattr(item, "callspec", None) is not None and item.callspec.params.get("db_backend") == "sqlite"
        if item.get_closest_marker("many_connections") is not None and not on_sqlite:
            item.add_marker(pytest.mark.xdist_group("many_connections"))
    # Tests marked long go first, then the browser journeys (10 to 40 s each: a live server, Chromium, many pages):
    # xdist hands tests out in this order, and a slow one started last would be the run's tail, one worker busy
    # for half a minute or more while the other waits with nothing left to do. (Stable: the rest keep their
    # order. xdist's loadgroup also puts the many_connections group, its biggest unit, before single tests.)
    items.sort(key=_slow_first)


E2E_DIR = Path(__file__).resolve().parent / "e2e"


def _slow_first(item) -> int:
    if item.get_closest_marker("long") is not None:
        return 0
    if E2E_DIR in Path(item.path).resolve().parents:  # the e2e marker itself is added by tests/e2e/conftest.py
        return 1
    return 2


def pytest_generate_tests(metafunc):
    if "db_backend" in metafunc.fixturenames:
        both = any(
            metafunc.definition.get_closest_marker(marker) is not None
            for marker in ("both_dbs", "both_search_backends")
        )
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"] if both else ["sqlite"], scope="function")


def _test_config(tmp_path: Path, database_url: str) -> dict:
    return {
        "TESTING": True,
        "HRDNET_ENV": "test",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_BACKEND": "file",
        "MAIL_DIR": str(tmp_path / "mail"),
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "SITE_URL": "http://127.0.0.1:5000",
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def migrate_to_head(database_url: str, tmp_path: Path) -> None:
    app = create_app(_test_config(tmp_path, database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    migrate_to_head(f"sqlite:///{path}", folder)
    return path


def _pg_admin_engine():
    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def postgres_url(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template(tmp_path_factory):
    name = f"hrdnet_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is required for tests marked both_dbs ({POSTGRES_ADMIN_URL}): {exc}")
    migrate_to_head(postgres_url(name), tmp_path_factory.mktemp("pg-template"))
    yield name
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


class _Dropper:
    """Drops finished test databases on threads of their own while the next tests run.

    PostgreSQL 15's DROP DATABASE waits for a checkpoint and for every backend of the server to close the
    database's files: one to three seconds each on this shared machine, a fifth of the suite's time when each
    test waited for its own. Nothing reads a test's database after its test. The waits of drops that run at the
    same time overlap (concurrent ones share the checkpoint), so up to DROPPERS run at once; each holds a
    connection only while it drops, and a drop refused a connection (the server's 100 are shared) is tried
    again later. While a many_connections test runs, no worker's drops take a connection (paused(), a lock file
    shared by the workers). close() (end of the session) waits until every one is gone and fails the session if one
    could not be dropped.

    The lock file alone starved paused(): flock grants a shared lock while an exclusive one waits, and another
    worker's two droppers working through a backlog hold shared locks that overlap without a gap, so a
    many_connections test could wait until that worker ran out of drops (two threads taking turns so held the
    exclusive lock off for 11 s, until they stopped). A second file, the gate, gives paused() the turn: it takes
    the gate exclusively before the lock, and a drop takes the gate (shared, only while it takes the lock) before
    the lock, so no new drop starts once paused() is waiting (the same two threads: 0.2 s)."""

    DROPPERS = 2
    ATTEMPTS = 30  # a second apart and more: the server's connections are taken for a minute at most

    def __init__(self, lock_path: Path, gate_path: Path):
        self.lock_path = lock_path  # shared by the session's workers: held exclusively by many_connections tests
        self.gate_path = gate_path  # likewise, taken exclusively first: see the class's docstring
        self.engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.pool = ThreadPoolExecutor(max_workers=self.DROPPERS, thread_name_prefix="drop-test-database")
        self.pending: list[Future] = []

    def drop(self, name: str) -> None:
        self.pending.append(self.pool.submit(self._drop, name))

    def _drop(self, name: str) -> None:
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                with self.turn(), self.engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except OperationalError:
                if attempt == self.ATTEMPTS:
                    raise
                time.sleep(1 + attempt / 10)

    @contextlib.contextmanager
    def turn(self):
        """A drop's turn: the lock, shared with the other drops, never while a many_connections test runs or waits."""
        with self.gate_path.open("a") as gate, self.lock_path.open("a") as lock:
            fcntl.flock(gate, fcntl.LOCK_SH)  # waits while a many_connections test waits for the lock
            fcntl.flock(lock, fcntl.LOCK_SH)  # waits while a many_connections test runs on any worker
            fcntl.flock(gate, fcntl.LOCK_UN)
            yield

    @contextlib.contextmanager
    def paused(self):
        """No worker's drops take a connection inside this block (this worker's pending ones finish first)."""
        wait(self.pending)
        with self.gate_path.open("a") as gate, self.lock_path.open("a") as lock:
            fcntl.flock(gate, fcntl.LOCK_EX)  # from now on no drop starts: the drops under way end, then ours
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.engine.dispose()
        failures = [str(future.exception()) for future in self.pending if future.exception() is not None]
        assert not failures, "test databases left behind:\n" + "\n".join(failures)


@pytest.fixture(scope="session")
def postgres_dropper(tmp_path_factory, worker_id):
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    dropper = _Dropper(shared / "drop-test-databases.lock", shared / "drop-test-databases.gate")
    yield dropper
    dropper.close()


@pytest.fixture
def database_url(request, db_backend, tmp_path):
    if db_backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    dropper = request.getfixturevalue("postgres_dropper")  # set up after the template: closed before it is dropped
    name = f"hrdnet_t_{uuid.uuid4().hex[:12]}"
    engine = _pg_admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    if request.node.get_closest_marker("many_connections") is not None:
        with dropper.paused():
            yield postgres_url(name)
    else:
        yield postgres_url(name)
    dropper.drop(name)


@pytest.fixture
def app_config(tmp_path, database_url) -> dict:
    """Override keys here (or in a test's own fixture) before `app` is built."""
    return _test_config(tmp_path, database_url)


class IsolatedClient(FlaskClient):
    """Every request runs in its own app context: fresh `g` and database session, as under a server.

    The `app` fixture keeps an app context pushed for the whole test (so tests can use the database), and
    Flask would reuse it for test requests: `flask.g`, where Flask-Login caches the current user and
    Flask-WTF the CSRF token, would then outlive a request, and a second client without cookies would be
    served as the first one's user. A 5xx answer fails the test at once unless the test expects one
    (allow_server_errors = True).
    """

    allow_server_errors = False

    def open(self, *args, **kwargs):
        db.session.commit()  # the test's own writes become visible, and its later reads start fresh
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if response.status_code >= 500 and not self.allow_server_errors:
            raise AssertionError(f"server error {response.status_code}: {response.get_data(as_text=True)[:300]}")
        return response


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- factories and helpers ---------------------------------------------------------------------------


@pytest.fixture
def make_ministry(app):
    from courses.models import Ministry

    def make(code: str = "MOEL", name: str = "고용노동부") -> Ministry:
        ministry = db.session.scalar(db.select(Ministry).where(Ministry.code == code))
        if ministry is None:
            ministry = Ministry(code=code, name=name)
            db.session.add(ministry)
            db.session.commit()
        return ministry

    return make


@pytest.fixture
def make_provider(app):
    from courses.models import Provider

    counter = iter(range(1, 10_000))

    def make(name: str = "테스트 훈련기관") -> Provider:
        provider = Provider(name=name, business_number=f"{1000000000 + next(counter)}")
        db.session.add(provider)
        db.session.commit()
        return provider

    return make


# -- the clock ---------------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Now, standing still until the test moves it; clock.drive(module) makes that module read it."""
    return Clock(monkeypatch)


@pytest.fixture
def today(clock) -> date:
    """The KST date this test reasons about, taken when it starts. Never a module-level date taken at import:
    under xdist, or in a run that crosses midnight KST, that date disagrees with the code's clock."""
    return clock.today


# -- catalog and voucher factories (plain code in tests/support; these hand out one per test) --------


@pytest.fixture
def catalog(app, today) -> Catalog:
    """Catalog rows for one test: catalog.provider(), .course(), .listing(), .run(), .import_run()."""
    return Catalog(today)


@pytest.fixture
def make_course(catalog):
    """make_course(title=..., provider=..., **columns) -> a Course (with a provider of its own by default)."""
    return catalog.course


@pytest.fixture
def make_run(catalog):
    """make_run(course=None, *, programme="C0104", start=today + 14 days, **columns) -> a listed, open Run."""
    return catalog.run


@pytest.fixture
def world(app, make_user, catalog) -> VoucherWorld:
    """Learners with cards, runs with known prices and enrolments, through the real services."""
    return VoucherWorld(make_user, catalog)


@pytest.fixture
def make_learner(world):
    """make_learner(limit=None, groups=(), status="unemployed", card=True, kdigital=False) -> a verified
    learner (User with .person_id) holding a card issued today."""
    return world.learner


@pytest.fixture
def make_card(world):
    """make_card(learner=None, *, kind="card", limit=None) -> a card issued to a verified learner without one
    (a new one by default)."""

    def make(learner=None, **card):
        return world.issue_card(learner or world.learner(card=False), **card)

    return make


@pytest.fixture
def make_enrolment(world):
    """make_enrolment(learner, run, pay=True) -> an Enrolment made as the site makes it (vouchers.checkout)."""
    return world.enrol


@pytest.fixture
def reindex(app):
    """reindex() rebuilds the search index from the database with the real indexer (`hrdnet search reindex`)."""
    return rebuild_search_index


@pytest.fixture
def make_user(app, make_ministry, make_provider):
    """Create a verified user of a role (admins and auditors with TOTP enrolled)."""
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    counter = iter(range(1, 10_000))

    def make(
        role: Role | str = Role.LEARNER,
        *,
        email: str | None = None,
        password: str = PASSWORD,
        ministry_code: str = "MOEL",
    ):
        role = Role(role)
        org = {
            Role.PROVIDER: lambda: str(make_provider().id),
            Role.AUDITOR: lambda: make_ministry(ministry_code).code,
        }.get(role, lambda: None)()
        db.session.commit()  # the test's own set-up writes (factories flush) are its own, not this unit's
        with unit_of_work(write_lock=True):
            user = services.create_user(
                email=email or f"{role.value}{next(counter)}@example.com",
                role=role,
                name="홍길동",
                org_code=org,
                password=password,
            )
            if user.needs_totp:
                user.totp_secret = TOTP_SECRET
        return user

    return make


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on `path` (tests submit forms the way a browser does)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def login(client):
    """Sign a user in through the real login form (and TOTP step for admins and auditors)."""

    def sign_in(user, password: str = PASSWORD):
        response = client.post(
            "/login", data={"email": user.email, "password": password, "csrf_token": csrf_token(client, "/login")}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        if user.needs_totp:
            response = client.post(
                "/login/2fa",
                data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": csrf_token(client, "/login/2fa")},
            )
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return sign_in


@pytest.fixture
def login_as(make_user, login):
    """login_as("auditor") -> a new signed-in auditor."""

    def sign_in(role: Role | str, **kwargs):
        return login(make_user(role, **kwargs))

    return sign_in


@pytest.fixture
def mailbox(app):
    """Deliver the outbox, then read the messages the file mail backend wrote."""
    from hrdnet import outbox

    def read() -> list[email.message.EmailMessage]:
        while outbox.deliver_pending():  # until idle: a job (e.g. a password reset) may queue an e-mail
            pass
        folder = Path(app.config["MAIL_DIR"])
        files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]

    return read


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in an e-mail that starts with path_prefix."""
    body = message.get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", body)
    assert match, f"no {path_prefix} link in the message"
    return match.group(1)
