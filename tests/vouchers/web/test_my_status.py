"""The learner sets their status once in 내 계정 (/me/card/status) and every run page prices by it (issue 17, 10)."""

from __future__ import annotations

from sqlalchemy import select

from hrdnet.audit import AuditEntry
from hrdnet.extensions import db
from tests.conftest import csrf_token
from vouchers.cards import operations as cards


def _price_block(client, run_id: int) -> str:
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    return page[page.index("지금 결제할 금액") :][:400]


def test_the_status_set_in_my_account_changes_the_run_page_price(client, login, world, today):
    learner = world.learner(status="unemployed")
    run = world.run(fee=1_000_000)  # general course, employment rate 75 %: 15 % unemployed, 30 % employed
    login(learner)
    assert 'href="/me/card/status"' in client.get("/account").get_data(as_text=True)
    assert "150,000원" in _price_block(client, run.id)

    form = client.get("/me/card/status").get_data(as_text=True)
    assert '<option selected value="unemployed">실업자(구직자)</option>' in form  # what is recorded, preselected
    response = client.post(
        "/me/card/status",
        data={"employment_status": "employed", "csrf_token": csrf_token(client, "/me/card/status")},
    )
    assert response.status_code == 302
    assert "300,000원" in _price_block(client, run.id)
    assert cards.status_on(learner.person_id, today).employment_status == "employed"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "card.status_declared")).one()
    assert entry.actor == learner.pseudonym and "@" not in str(entry.data)


def test_the_status_form_refuses_a_missing_or_unknown_status_in_korean(client, login, world, today):
    learner = world.learner(status="unemployed")
    login(learner)
    token = csrf_token(client, "/me/card/status")
    missing = client.post("/me/card/status", data={"employment_status": "", "csrf_token": token})
    assert missing.status_code == 400 and "고용 상태를 골라 주세요." in missing.get_data(as_text=True)
    unknown = client.post("/me/card/status", data={"employment_status": "pirate", "csrf_token": token})
    assert unknown.status_code == 400  # not one of the choices: nothing recorded
    assert cards.status_on(learner.person_id, today).employment_status == "unemployed"


def test_a_learner_without_identity_is_sent_to_verify_first(client, login_as):
    login_as("learner")
    response = client.get("/me/card/status")
    assert response.status_code == 302 and "/me/identity" in response.headers["Location"]
