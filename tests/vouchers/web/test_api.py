"""The card and enrolment API: /api/v1/me/card, /api/v1/enrolments (+ Idempotency-Key), cancel, and who may read
an enrolment. Real services, a real database, Bearer tokens as a client would use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hrdnet import audit
from hrdnet.access import Role
from hrdnet.auth import services as auth_services
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.vouchers import ACTOR
from vouchers import checkout
from vouchers.cards import operations as cards
from vouchers.cards.quote import quote
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Hold

pytestmark = pytest.mark.both_dbs


def bearer(user) -> dict:
    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(user, "test").token
    return {"Authorization": f"Bearer {token}"}


def enrolment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Enrolment))


def post_enrolment(client, headers, run_id, key: str | None = None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/enrolments", json={"run_id": run_id}, headers={**headers, **extra})


# -- GET /api/v1/me/card -------------------------------------------------------------------------------------


def test_my_card_needs_a_learner_token(client, make_user):
    assert client.get("/api/v1/me/card").status_code == 401
    assert client.get("/api/v1/me/card", headers=bearer(make_user(Role.PROVIDER))).status_code == 403


def test_my_card_without_a_card_is_not_found(client, world):
    response = client.get("/api/v1/me/card", headers=bearer(world.learner(card=False)))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "card_not_found"


def test_my_card_shows_balances_that_add_up_and_a_korean_statement(client, world):
    learner = world.learner(kdigital=True)
    run = world.run(fee=1_000_000)
    world.enrol(learner, run, pay=False)  # held, not paid
    body = client.get("/api/v1/me/card", headers=bearer(learner)).get_json()
    card = world.card(learner)
    assert body["card_id"] == card.id and body["status"] == "active"
    assert body["expires_on"] == card.expires_on.isoformat()
    assert (body["limit"], body["available"], body["held"], body["spent"], body["expired"]) == (
        3_000_000,
        2_150_000,
        850_000,
        0,
        0,
    )
    assert body["limit"] + body["top_ups"] == body["available"] + body["held"] + body["spent"] + body["expired"]
    assert [a["kind"] for a in body["accounts"]] == ["card", "kdigital"]
    for account in body["accounts"]:
        assert (
            account["limit"] + account["top_ups"]
            == account["available"] + account["held"] + account["spent"] + account["expired"]
        )
        assert {"expires_on", "limit", "available", "held", "spent", "expired", "top_ups"} <= set(account)
    assert body["accounts"][1]["limit"] == 500_000
    newest, issue = body["entries"]
    assert newest["label"] == "수강 신청 금액 보류" and newest["change"] == -850_000
    assert newest["description"].startswith("수강 신청 보류: ") and newest["balance_after"] == 2_150_000
    assert issue["description"] == "내일배움카드 발급 (지원 한도 3,000,000원)" and issue["change"] == 3_000_000
    assert body["next_before"] is None
    older = client.get("/api/v1/me/card?limit=1", headers=bearer(learner)).get_json()
    assert len(older["entries"]) == 1 and older["next_before"] == newest["entry_id"]
    rest = client.get(f"/api/v1/me/card?limit=1&before={older['next_before']}", headers=bearer(learner)).get_json()
    assert [e["entry_id"] for e in rest["entries"]] == [issue["entry_id"]]


# -- POST /api/v1/enrolments -----------------------------------------------------------------------------------


def test_enrol_collects_the_self_pay_and_confirms(client, world):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    response = post_enrolment(client, bearer(learner), run.id, key="first-try")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["status"], body["self_pay"], body["card_draw"]) == ("confirmed", 150_000, 850_000)
    payment = body["payment"]
    assert (payment["backend"], payment["amount"], payment["status"]) == ("local", 150_000, "succeeded")
    assert isinstance(payment["attempt_id"], int)
    figures = world.figures(learner)
    assert (figures.available, figures.spent) == (2_150_000, 850_000) and figures.balanced
    assert ledger.verify().ok and audit.verify().ok


def test_no_self_pay_means_no_payment(client, world):
    learner = world.learner(groups=("basic_livelihood",))
    run = world.run(fee=1_000_000)
    body = post_enrolment(client, bearer(learner), run.id).get_json()
    assert (body["status"], body["self_pay"], body["card_draw"], body["payment"]) == ("confirmed", 0, 1_000_000, None)


def test_the_same_key_and_body_replays_the_first_answer(client, world):
    learner = world.learner()
    run = world.run()
    headers = bearer(learner)
    first = post_enrolment(client, headers, run.id, key="retry-me")
    again = post_enrolment(client, headers, run.id, key="retry-me")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert enrolment_count() == 1 and db.session.scalar(select(func.count()).select_from(Hold)) == 1


def test_the_same_key_with_another_body_is_refused(client, world):
    learner = world.learner()
    first_run, second_run = world.run(), world.run()
    headers = bearer(learner)
    assert post_enrolment(client, headers, first_run.id, key="reused").status_code == 201
    response = post_enrolment(client, headers, second_run.id, key="reused")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert enrolment_count() == 1


def test_keys_belong_to_their_user(client, world):
    run = world.run()
    first, second = world.learner(), world.learner()
    assert post_enrolment(client, bearer(first), run.id, key="shared").status_code == 201
    response = post_enrolment(client, bearer(second), run.id, key="shared")
    assert response.status_code == 201 and response.get_json()["enrolment_id"] != db.session.scalar(
        select(Enrolment.id).where(Enrolment.user_id == first.id)
    )
    assert enrolment_count() == 2


def test_an_invalid_key_or_body_is_refused(client, world):
    learner = world.learner()
    headers = bearer(learner)
    assert post_enrolment(client, headers, world.run().id, key=" ").status_code == 400
    assert post_enrolment(client, headers, world.run().id, key="x" * 101).status_code == 400
    assert client.post("/api/v1/enrolments", json={}, headers=headers).status_code == 422
    assert client.post("/api/v1/enrolments", json={"run_id": 999_999}, headers=headers).status_code == 404
    assert enrolment_count() == 0


def _code(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]


def test_insufficient_balance(client, world):
    learner = world.learner(limit=100_000)
    assert _code(post_enrolment(client, bearer(learner), world.run(fee=1_000_000).id)) == (409, "insufficient_balance")
    assert world.figures(learner).available == 100_000


def test_run_full(client, world):
    run = world.run(capacity=1)
    world.enrol(world.learner(), run)
    assert _code(post_enrolment(client, bearer(world.learner()), run.id)) == (409, "run_full")


def test_already_enrolled(client, world):
    learner = world.learner()
    run = world.run()
    headers = bearer(learner)
    assert post_enrolment(client, headers, run.id, key="one").status_code == 201
    assert _code(post_enrolment(client, headers, run.id, key="two")) == (409, "already_enrolled")
    assert _code(post_enrolment(client, headers, run.id)) == (409, "already_enrolled")
    assert enrolment_count() == 1


def test_card_suspended(client, world, today):
    learner = world.learner()
    with unit_of_work(write_lock=True):
        cards.suspend(world.card(learner).id, until=today + timedelta(days=60), reason="중도탈락", actor=ACTOR)
    assert _code(post_enrolment(client, bearer(learner), world.run().id)) == (409, "card_suspended")


def test_enrolment_closed(client, world, today):
    learner = world.learner()
    started = world.run(start=today - timedelta(days=3))
    closed = world.run(status="closed")
    assert _code(post_enrolment(client, bearer(learner), started.id)) == (409, "enrolment_closed")
    assert _code(post_enrolment(client, bearer(learner), closed.id)) == (409, "enrolment_closed")


def test_no_card_and_no_identity(client, world, make_user):
    assert _code(post_enrolment(client, bearer(world.learner(card=False)), world.run().id)) == (409, "no_card")
    stranger = make_user(Role.LEARNER)
    assert _code(post_enrolment(client, bearer(stranger), world.run().id)) == (403, "identity_required")


def test_a_refusal_is_not_remembered_so_a_retry_is_judged_again(client, world, today):
    learner = world.learner()
    run = world.run(capacity=1)
    blocker = world.enrol(world.learner(), run)
    headers = bearer(learner)
    assert _code(post_enrolment(client, headers, run.id, key="again")) == (409, "run_full")
    with unit_of_work(write_lock=True):
        checkout.cancel(blocker.id, on=today, actor=ACTOR)  # the seat comes back
    assert post_enrolment(client, headers, run.id, key="again").status_code == 201


def test_only_learners_enrol(client, make_user, world):
    run = world.run()
    assert client.post("/api/v1/enrolments", json={"run_id": run.id}).status_code == 401
    for role in (Role.PROVIDER, Role.AUDITOR, Role.ADMIN):
        assert post_enrolment(client, bearer(make_user(role)), run.id).status_code == 403


# -- POST /api/v1/enrolments/<id>/cancel -----------------------------------------------------------------------


def test_cancel_returns_the_amounts_and_restores_the_card(client, world):
    learner = world.learner()
    enrolment = world.enrol(learner, world.run(fee=1_000_000))
    headers = bearer(learner)
    response = client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["enrolment_id"] == enrolment.id and body["outcome"] == "withdrawn" and body["free"] is True
    assert (body["card_return"], body["self_pay_refund"], body["penalty"]) == (850_000, 150_000, 0)
    assert world.figures(learner).available == 3_000_000
    again = client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=headers)
    assert _code(again) == (409, "illegal_transition")
    assert ledger.verify().ok


def test_cancel_with_an_idempotency_key_replays(client, world):
    learner = world.learner()
    enrolment = world.enrol(learner, world.run())
    headers = {**bearer(learner), "Idempotency-Key": "cancel-1"}
    first = client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=headers)
    second = client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=headers)
    assert first.status_code == second.status_code == 200 and first.get_json() == second.get_json()


def test_only_the_owner_cancels(client, world, make_user):
    owner = world.learner()
    enrolment = world.enrol(owner, world.run())
    assert client.post(f"/api/v1/enrolments/{enrolment.id}/cancel").status_code == 401
    assert _code(client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=bearer(world.learner()))) == (
        404,
        "enrolment_not_found",
    )
    assert (
        client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=bearer(make_user(Role.ADMIN))).status_code
        == 403
    )
    assert enrolments.get(enrolment.id).status == EnrolmentStatus.CONFIRMED


# -- GET /api/v1/enrolments/<id> ------------------------------------------------------------------------------


def test_who_may_read_an_enrolment(client, world, make_user):
    owner = world.learner()
    run = world.run()
    enrolment = world.enrol(owner, run)
    provider = make_user(Role.PROVIDER)
    provider.provider_id = run.course.provider_id
    db.session.commit()
    readers = [owner, provider, make_user(Role.AUDITOR, ministry_code="MOEL"), make_user(Role.ADMIN)]
    for reader in readers:
        response = client.get(f"/api/v1/enrolments/{enrolment.id}", headers=bearer(reader))
        assert response.status_code == 200, reader.role
        body = response.get_json()
        assert (body["enrolment_id"], body["run_id"], body["status"]) == (enrolment.id, run.id, "confirmed")
        assert (body["self_pay"], body["card_draw"]) == (enrolment.self_pay, enrolment.card_draw)
        assert [(h["from"], h["to"]) for h in body["history"]] == [("applied", "held"), ("held", "confirmed")]
        assert body["history"][0]["reason"].startswith("자비부담") and body["history"][0]["at"]
    strangers = [world.learner(), make_user(Role.PROVIDER), make_user(Role.AUDITOR, ministry_code="MSIT")]
    for stranger in strangers:
        response = client.get(f"/api/v1/enrolments/{enrolment.id}", headers=bearer(stranger))
        assert _code(response) == (404, "enrolment_not_found"), stranger.role
    missing = client.get("/api/v1/enrolments/999999", headers=bearer(owner))
    assert _code(missing) == (404, "enrolment_not_found")
    assert client.get(f"/api/v1/enrolments/{enrolment.id}").status_code == 401


# -- the run API -----------------------------------------------------------------------------------------------


def test_the_run_api_gives_a_learner_their_own_quote(client, world, today):
    learner = world.learner(groups=("kua_type1",))
    run = world.run(fee=1_000_000)
    price = client.get(f"/api/v1/runs/{run.id}", headers=bearer(learner)).get_json()["price"]
    expected = quote(run, learner.person_id, today).as_dict()
    assert price["basis"] == "learner"
    assert {key: price[key] for key in ("fee", "self_pay", "card_draw", "balance_after", "enrollable")} == {
        key: expected[key] for key in ("fee", "self_pay", "card_draw", "balance_after", "enrollable")
    }
    assert price["self_pay"] == 0 and price["card_draw"] == 1_000_000 and price["refusal"] is None
    generic = client.get(f"/api/v1/runs/{run.id}").get_json()["price"]
    assert generic["basis"] == "generic" and generic["self_pay"] == 150_000 and "card_draw" not in generic


def test_the_run_api_prices_a_learner_by_their_employment_status(client, world):
    run = world.run(fee=1_000_000)  # general course, employment rate 75 %
    unemployed, employed = world.learner(status="unemployed"), world.learner(status="employed")
    mine = client.get(f"/api/v1/runs/{run.id}", headers=bearer(unemployed)).get_json()["price"]
    theirs = client.get(f"/api/v1/runs/{run.id}", headers=bearer(employed)).get_json()["price"]
    assert (mine["self_pay"], mine["priced_as"], mine["learner_status"]) == (150_000, "일반훈련생", "unemployed")
    assert (theirs["self_pay"], theirs["card_draw"], theirs["priced_as"]) == (300_000, 700_000, "재직자")
    generic = client.get(f"/api/v1/runs/{run.id}").get_json()["price"]
    assert (generic["self_pay"], generic["priced_as"]) == (150_000, "일반훈련생")  # labelled: whom it is for


@pytest.mark.parametrize(
    ("status", "programme", "expected"),
    [
        ("unemployed", "C0061", (True, 5_800, 116_000)),
        ("short_hours_worker", "C0061", (True, 5_800, 116_000)),
        ("employed", "C0061", (False, None, None)),
        ("unemployed", "C0104", (True, 10_000, 200_000)),  # KDT from 2026
        ("employed", "C0104", (False, None, None)),
    ],
)
def test_the_run_api_shows_the_allowance_only_to_learners_it_can_be_paid_to(client, world, status, programme, expected):
    run = world.run(programme=programme, fee=1_000_000)  # 640 hours over 80 training days
    price = client.get(f"/api/v1/runs/{run.id}", headers=bearer(world.learner(status=status))).get_json()["price"]
    assert (price["allowance_eligible"], price["allowance_per_day"], price["allowance_monthly_max"]) == expected


def test_the_run_api_gives_other_roles_the_generic_price(client, world, make_user):
    run = world.run(fee=1_000_000)
    price = client.get(f"/api/v1/runs/{run.id}", headers=bearer(make_user(Role.PROVIDER))).get_json()["price"]
    assert price["basis"] == "generic" and price["self_pay"] == 150_000


def test_cancelling_an_unpaid_enrolment_reports_the_released_hold(client, world):
    learner = world.learner()
    enrolment = world.enrol(learner, world.run(fee=1_000_000), pay=False)
    body = client.post(f"/api/v1/enrolments/{enrolment.id}/cancel", headers=bearer(learner)).get_json()
    assert (body["outcome"], body["hold_released"], body["card_return"], body["self_pay_refund"]) == (
        "withdrawn",
        850_000,
        0,
        0,
    )
    assert world.figures(learner).available == 3_000_000
