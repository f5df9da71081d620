"""Spend totals reconcile to the ledger exactly, whether read from the aggregate, live, or half of each."""

from __future__ import annotations

import pytest

from hrdnet.db import unit_of_work
from tests.support.audit import ledger_reference, money_world
from vouchers.audit import drill, spend
from vouchers.audit.models import MEASURES
from vouchers.audit.scope import Scope
from vouchers.audit.spend import Filters


def figures(line) -> dict[str, int]:
    return {m: line.amounts[m] for m in MEASURES}


@pytest.mark.both_dbs
def test_totals_equal_the_ledger_live_aggregated_and_half_aggregated(world):
    money = money_world(world)
    reference = ledger_reference()
    # the drill-down finds every transfer of an enrolment by its key prefix, on either database
    lines = drill.ledger_lines(drill.enrolment_in_scope(money.dropped_enrolment.id, Scope(None)))
    kinds = {line.transfer_kind for line in lines}
    assert {"수강 신청 금액 보류", "중도탈락 제재 차감"} <= kinds and len({line.transfer_id for line in lines}) >= 6
    live = figures(spend.totals(Filters()))
    assert reference["settled"] > 0 and reference["penalties"] > 0 and reference["held"] > 0
    assert reference["refunds"] > 0 and reference["card_draw"] > 0 and reference["self_pay"] > 0
    assert live == {m: reference[m] for m in MEASURES}
    # money conservation: what providers are still owed is what reached them less refunds and payouts
    assert reference["payable"] == (
        live["card_draw"] + live["funded"] + live["self_pay"] - live["refunds"] - live["settled"]
    )

    with unit_of_work(write_lock=True):
        spend.refresh(limit=7)  # part of the ledger in the aggregate, the rest read live
    assert 0 < spend.watermark()
    assert figures(spend.totals(Filters())) == live
    with unit_of_work(write_lock=True):
        spend.refresh()
    assert figures(spend.totals(Filters())) == live
    with unit_of_work(write_lock=True):
        assert spend.refresh() == 0  # nothing new: nothing counted twice
        spend.rebuild()
    assert figures(spend.totals(Filters())) == live


def test_every_grouping_adds_up_to_the_totals(world):
    money_world(world)
    with unit_of_work(write_lock=True):
        spend.refresh(limit=10)
    total = figures(spend.totals(Filters()))
    for group_by in spend.GROUPS:
        lines = spend.lines(group_by, Filters())
        assert len(lines) >= (1 if group_by == "month" else 2)  # transfers carry the real clock's time
        assert {m: sum(line.amounts[m] for line in lines) for m in MEASURES} == total, group_by


def test_a_ministry_sees_only_its_programmes_money(world):
    money = money_world(world)
    mss_ministry = money.mss_run.programme.ministry_id
    lines = spend.lines("provider", Filters(ministry_id=mss_ministry))
    assert [line.key for line in lines] == [str(money.mss_provider_id)]
    assert lines[0].label == "바다 코딩스쿨"
    assert lines[0].card_draw == money.mss_enrolment.card_draw
    assert lines[0].self_pay == money.mss_enrolment.self_pay
    regions = spend.lines("region", Filters(ministry_id=mss_ministry))
    assert [(r.key, r.label) for r in regions] == [("26", "부산광역시")]


def test_the_run_row_of_the_dropout_shows_its_refunds_and_penalty(world):
    money = money_world(world)
    (line,) = spend.lines("run", Filters(run_id=money.moel_run.id))
    assert line.penalties == 200_000  # the first dropout's sanction
    assert line.held == money.held_enrolment.card_draw
    assert line.refunds > 0
