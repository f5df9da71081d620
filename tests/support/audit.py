"""A small world of voucher money for the audit console's tests, made through the real services.

Two ministries: 고용노동부 (C0061, a general card course of 1,200,000 at 25 % self-pay, 60 training days in two
unit periods, at 한빛 in Seoul) and 중소벤처기업부 (MSS-DGA, a card course at 바다 in Busan). On the MOEL run one
learner pays, attends all of April and is settled for it; one pays and drops out in May (refunds and a
penalty); one only holds (an outstanding hold). On the MSS run one learner pays. Then `ledger_reference()`
recomputes every figure straight from the ledger's accounts and entries, without the console's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text

from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.vouchers import ACTOR
from vouchers import checkout
from vouchers.enrolments import attendance
from vouchers.enrolments import operations as enrolments

D = date(2027, 3, 15)  # the day learners enrol
NOW = datetime(2027, 3, 15, 1, 0, tzinfo=UTC)
START, END = date(2027, 4, 1), date(2027, 5, 31)
APRIL = [date(2027, 4, day) for day in range(1, 31)]
MAY = [date(2027, 5, day) for day in range(2, 32)]


@dataclass
class MoneyWorld:
    moel_run: object
    mss_run: object
    moel_provider_id: int
    mss_provider_id: int
    settled_enrolment: object
    dropped_enrolment: object
    held_enrolment: object
    mss_enrolment: object


def sixty_day_run(world, programme: str, provider=None, region: str = "11680", fee: int = 1_200_000, **values):
    course = world.catalog.course(provider=provider or world.catalog.provider())
    run = world.run(
        programme=programme,
        fee=fee,
        start=START,
        days=(END - START).days,
        employment_rate_3m=65.0,
        course=course,
        region_code=region,
        **values,
    )
    return world.schedule(run, APRIL + MAY)


def money_world(world) -> MoneyWorld:
    moel_provider = world.catalog.provider("한빛 디지털아카데미")
    mss_provider = world.catalog.provider("바다 코딩스쿨", region_code="26110", address="부산광역시 중구 1")
    moel_run = sixty_day_run(world, "C0061", moel_provider)
    mss_run = sixty_day_run(world, "MSS-DGA", mss_provider, region="26110", fee=800_000)
    settled = world.enrol(world.learner(on=D), moel_run, today=D, now=NOW)
    dropped = world.enrol(world.learner(on=D), moel_run, today=D, now=NOW)
    mss = world.enrol(world.learner(on=D), mss_run, today=D, now=NOW)
    with unit_of_work(write_lock=True):
        enrolments.start_due(START)
    world.mark(settled, APRIL)
    world.mark(dropped, APRIL[:10])
    world.mark(mss, APRIL[:20])
    with unit_of_work(write_lock=True):
        attendance.settle_due(MAY[0])
    with unit_of_work(write_lock=True):
        checkout.cancel(dropped.id, on=MAY[3], actor=ACTOR)
    held = world.enrol(world.learner(on=D), moel_run, today=D, now=NOW, pay=False)
    db.session.commit()
    return MoneyWorld(moel_run, mss_run, moel_provider.id, mss_provider.id, settled, dropped, held, mss)


_MEASURE_SQL = {
    "card_draw": "t.kind = 'capture' AND a.kind = 'provider_payable' AND e.side = 'credit'",
    "funded": "t.kind = 'fund' AND a.kind = 'provider_payable' AND e.side = 'credit'",
    "self_pay": "t.kind = 'copay' AND a.kind = 'provider_payable' AND e.side = 'credit'",
    "refunds": "t.kind = 'refund' AND a.kind = 'provider_payable' AND e.side = 'debit'",
    "deducted": "t.kind = 'deduction' AND a.kind = 'programme_budget' AND e.side = 'credit'",
}


def ledger_reference() -> dict[str, int]:
    """Every spend measure of the whole ledger, straight from accounts and entries with SQL."""
    figures = {}
    for measure, condition in _MEASURE_SQL.items():
        figures[measure] = db.session.execute(
            text(
                "SELECT coalesce(sum(e.amount), 0) FROM entries e JOIN transfers t ON t.id = e.transfer_id"
                f" JOIN accounts a ON a.id = e.account_id WHERE {condition}"
            )
        ).scalar_one()
    # balances summed from the entries themselves: a shared account's cached balance may lag (docs/ledger.md)
    for measure, kind in (
        ("settled", "provider_settled"),
        ("penalties", "penalty"),
        ("held", "card_held"),
        ("payable", "provider_payable"),
    ):
        figures[measure] = db.session.execute(
            text(
                "SELECT coalesce(sum(CASE WHEN e.side = a.normal_side THEN e.amount ELSE -e.amount END), 0)"
                " FROM entries e JOIN accounts a ON a.id = e.account_id WHERE a.kind = :kind"
            ),
            {"kind": kind},
        ).scalar_one()
    figures["entries"] = db.session.execute(
        text(
            "SELECT count(*) FROM entries e JOIN transfers t ON t.id = e.transfer_id"
            " WHERE t.key LIKE 'enrolment:%' OR t.hold_id IN (SELECT hold_id FROM enrolments)"
        )
    ).scalar_one()
    return {k: int(v) for k, v in figures.items()}


def bearer(user) -> dict:
    """An API token for the user, as the header a client sends."""
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "test").token
    return {"Authorization": f"Bearer {token}"}


def tamper_audit_log(*statements: str, **params) -> None:
    """Change the audit log the way someone with DDL rights could: switch its guards off, run the statements,
    switch them on again (each statement in one transaction)."""
    db.session.rollback()
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params)
        if dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
