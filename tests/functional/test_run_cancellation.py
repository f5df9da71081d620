"""폐강: the provider's admin cancels a run with learners; every hold is released, every co-payment refunded by
the withdrawal rules, each learner e-mailed, the run leaves the catalog, and it is logged."""

from __future__ import annotations

from sqlalchemy import select

from courses.models import Run
from courses.portal.models import ProviderStaff
from hrdnet.access import Role
from hrdnet.audit import AuditEntry
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.conftest import PASSWORD, csrf_token
from vouchers.enrolments.models import Enrolment
from vouchers.payments.models import Payment


def _staff(provider_id: int, email: str, *, admin: bool):
    with unit_of_work(write_lock=True):
        user = auth_services.create_user(
            email=email, role=Role.PROVIDER, name="김기관", org_code=str(provider_id), password=PASSWORD
        )
        db.session.add(ProviderStaff(user_id=user.id, provider_id=provider_id, is_admin=admin, takes_attendance=True))
    return user


def test_cancelling_a_run_gives_every_learner_everything_back(client, login, world, mailbox):
    run = world.run(fee=1_000_000)
    paid_learner, holding_learner = world.learner(), world.learner()
    paid = world.enrol(paid_learner, run)
    held = world.enrol(holding_learner, run, pay=False)
    assert (paid.status, held.status) == ("confirmed", "held") and paid.self_pay > 0
    assert world.figures(paid_learner).available < 3_000_000 and world.figures(holding_learner).held > 0
    run_id, provider_id = run.id, run.course.provider_id
    roster_page = f"/provider/runs/{run_id}/roster"

    login(_staff(provider_id, "plain@example.com", admin=False))
    refused = client.post(
        f"/provider/runs/{run_id}/cancel", data={"csrf_token": csrf_token(client, roster_page), "reason": "x"}
    )
    assert refused.status_code == 403
    client.get("/logout")

    login(_staff(provider_id, "boss@example.com", admin=True))
    response = client.post(
        f"/provider/runs/{run_id}/cancel",
        data={"csrf_token": csrf_token(client, roster_page), "reason": "최소 인원 미달"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Run, run_id).status == "cancelled"
    assert {e.status for e in db.session.scalars(select(Enrolment).where(Enrolment.run_id == run_id))} == {"withdrawn"}
    for learner in (paid_learner, holding_learner):
        figures = world.figures(learner)
        assert (figures.available, figures.held, figures.spent) == (3_000_000, 0, 0) and figures.balanced
    payment = db.session.scalar(select(Payment).where(Payment.enrolment_id == paid.id))
    assert payment.refunded == paid.self_pay
    told = [m for m in mailbox() if "폐강" in m["Subject"]]
    assert sorted(m["To"] for m in told) == sorted([paid_learner.email, holding_learner.email])
    assert "최소 인원 미달" in told[0].get_content()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "run.cancelled"))
    assert entry.subject_id == str(run_id) and '"enrolments":2' in entry.data
