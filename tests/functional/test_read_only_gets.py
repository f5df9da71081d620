"""A GET only reads: every GET route in the URL map, as each role, on a seeded site, issues no INSERT, UPDATE or
DELETE.

The site has what the pages show: a catalog, a learner with a card, one confirmed enrolment and one held
enrolment whose payment is still pending (the processor did not answer when they enrolled, the state in which
the pay page and the return page used to call the processor and record its answer), a learner waiting for a
card decision, the run's provider staff, an auditor of its ministry and an admin. Every statement the
database receives is watched (SQLAlchemy's before_cursor_execute on the engine), so a write through any
path, ORM or not, is seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
import pytest
from sqlalchemy import event

from courses.portal import services as portal
from hrdnet import outbox
from hrdnet.access import Role
from hrdnet.auth import services as auth_services
from hrdnet.auth.models import User
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from search import saved
from search.interfaces import SearchParams
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token
from tests.support.portal import run_values, verify
from tests.support.vouchers import ACTOR
from vouchers import checkout
from vouchers.audit.models import Flag
from vouchers.cards import operations as cards
from vouchers.payments import operations as payments
from vouchers.payments.gateway import ProcessorUnavailable

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE|UPSERT)\b", re.IGNORECASE)
ROLES = ["anonymous", Role.LEARNER, Role.PROVIDER, Role.AUDITOR, Role.ADMIN]

# (endpoint, role) → why this GET may write. Nothing is truly unavoidable today: keep it empty.
ALLOWED_WRITES: dict[tuple[str, str], str] = {}


@dataclass
class Site:
    values: dict[str, list]  # route argument → the values to try
    users: dict[str, object]


def _held_with_pending_payment(world, learner, run, monkeypatch):  # noqa: F811
    """Enrol through the real path while the processor does not answer: held, its payment pending."""

    def unavailable(payment_id, *, actor, today=None):
        raise ProcessorUnavailable()

    with monkeypatch.context() as patched:
        patched.setattr(checkout, "process", unavailable)
        enrolment = world.enrol(learner, run)
    assert enrolment.status == "held" and payments.current_payment(enrolment.id).status == "pending"
    return enrolment


@pytest.fixture
def site(app, world, make_user, runner, monkeypatch) -> Site:  # noqa: F811
    run, other_run = world.run(), world.run()
    learner = world.learner()
    held = _held_with_pending_payment(world, learner, run, monkeypatch)
    confirmed = world.enrol(learner, other_run)
    assert confirmed.status == "confirmed"
    applicant = world.learner(card=False)
    with unit_of_work(write_lock=True):
        cards.apply_for_card(
            applicant.id,
            employment_status="unemployed",
            groups=set(),
            excluded=set(),
            today=run.start_date,
            actor=ACTOR,
        )
        provider_staff = auth_services.create_user(
            email="staff@example.com",
            role=Role.PROVIDER,
            name="홍길동",
            org_code=str(run.course.provider_id),
            password=PASSWORD,
        )
    verify(run.course.provider_id)
    with unit_of_work(write_lock=True):  # a submission waiting for the auditor, with one approved before it
        submission = portal.save(run.course.provider_id, run_values(run.start_date), actor=ACTOR, submit=True)
        portal.decide(submission.id, approve=True, reason="", ministry_id=None, actor=ACTOR)
        portal.save(
            run.course.provider_id,
            run_values(run.start_date, fee=8_000_000, support_amount=8_000_000),
            actor=ACTOR,
            submission_id=submission.id,
            submit=True,
        )
        flag = Flag(  # a risk flag, so that its page is visited too
            rule="run_burst",
            subject_type="run",
            subject_id=other_run.id,
            subject_label="테스트 회차",
            ministry_ids=f" {other_run.programme.ministry_id} ",
            numbers="{}",
            evidence=f'{{"enrolments": [{confirmed.id}], "transfers": []}}',
            explanation="테스트",
            status="open",
        )
        db.session.add(flag)
        saved_search = saved.save(learner.id, "파이썬", SearchParams(q="파이썬"), utcnow())  # its results link
    ministry_code = run.programme.ministry.code
    users = {
        Role.LEARNER: learner,
        Role.PROVIDER: provider_staff,
        Role.AUDITOR: make_user(Role.AUDITOR, ministry_code=ministry_code),
        Role.ADMIN: make_user(Role.ADMIN),
    }
    values = {
        "run_id": [run.id],
        "enrolment_id": [held.id, confirmed.id],
        "course_id": [run.course_id],
        "provider_id": [run.course.provider_id],
        "import_id": [1],
        "kind": ["ministry"],
        "code": [ministry_code],
        "token": ["not-a-real-token"],
        "filename": ["site.css"],
        "submission_id": [submission.id],
        "flag_id": [flag.id],
        "person_id": [learner.person_id],
        "saved_id": [saved_search.id],
    }
    user_ids = {role: user.id for role, user in users.items()}
    db.session.rollback()
    outbox.deliver_pending()  # what the worker would have done by now
    _reindex(runner)  # the search pages need an index (building it empties the session)
    return Site(values, {role: db.session.get(User, user_id) for role, user_id in user_ids.items()})


def _urls(app, values: dict[str, list]):
    """(endpoint, url) for every GET route, with each value its arguments can take."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: give {sorted(missing)} a value in the site fixture"
        combos = [{}]
        for argument in sorted(rule.arguments):
            combos = [{**combo, argument: value} for combo in combos for value in values[argument]]
        for combo in combos:
            yield rule.endpoint, rule.build(combo, append_unknown=False)[1]


def _signed_in_client(app, user):
    client = app.test_client()
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    )
    assert response.status_code == 302
    if user.needs_totp:
        response = client.post(
            "/login/2fa", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": csrf_token(client, "/login/2fa")}
        )
        assert response.status_code == 302
    return client


def _reindex(runner) -> None:
    """Build the search index through its published command (hrdnet search reindex)."""
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output


def _bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "read-only test").token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def writes(app):
    """Every INSERT/UPDATE/DELETE the engine is sent while the test watches."""
    seen: list[str] = []

    def watch(_conn, _cursor, statement, _parameters, _context, _executemany):
        if WRITE.match(statement):
            seen.append(" ".join(statement.split())[:160])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", watch)
    yield seen
    event.remove(engine, "before_cursor_execute", watch)


@pytest.mark.parametrize("role", ROLES)
def test_no_get_route_writes_whoever_asks(app, site, writes, role):
    user = site.users.get(role)
    client = _signed_in_client(app, user) if user is not None else app.test_client()
    api_headers = _bearer(user) if user is not None else {}
    db.session.remove()
    if user is not None:
        assert writes, "the watch sees writes: signing in and issuing the token wrote"
    writes.clear()  # signing in and issuing the token are POSTs and services: not under test
    found, visited = [], 0
    for endpoint, url in _urls(app, site.values):
        before = len(writes)
        response = client.get(url, headers=api_headers if url.startswith("/api/") else {})
        assert response.status_code < 500, (endpoint, url, response.status_code)
        visited += 1
        if len(writes) > before and (endpoint, str(role)) not in ALLOWED_WRITES:
            found += [(endpoint, url, statement) for statement in writes[before:]]
    assert visited > 40
    assert found == []
