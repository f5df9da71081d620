"""The verification page runs the check `hrdnet audit verify` runs: chain head and count when intact, the first
bad row when someone edited, deleted or reordered rows straight in the database."""

from __future__ import annotations

import pytest

from hrdnet import audit
from hrdnet.access import Role
from hrdnet.db import unit_of_work
from tests.support.audit import tamper_audit_log
from tests.support.pages import page, text_of


def append(n: int) -> None:
    with unit_of_work(write_lock=True):
        for i in range(n):
            audit.append("test.event", actor="system", subject_type="thing", subject_id=i, data={"n": i})


def test_an_intact_chain_shows_its_head_and_count(client, login_as, runner):
    login_as(Role.AUDITOR)
    append(3)
    verdict = audit.verify()
    shown = client.get("/audit/verify")
    assert "이상 없음" in text_of(shown)
    assert f'<code id="chain-head">{verdict.head_hash}</code>' in page(shown)
    assert f"항목 {verdict.count:,}개가 모두 이어집니다" in text_of(shown)
    assert f"{verdict.count} entries, head {verdict.head_hash}" in runner.invoke(args=["audit", "verify"]).output


@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        (["UPDATE audit_log SET data = '[99]' WHERE id = 4"], 4),  # edited
        (["DELETE FROM audit_log WHERE id = 4"], 5),  # deleted
        (  # reordered: 4 and 5 swap places
            [
                "UPDATE audit_log SET id = -1 WHERE id = 4",
                "UPDATE audit_log SET id = 4 WHERE id = 5",
                "UPDATE audit_log SET id = 5 WHERE id = -1",
            ],
            4,
        ),
    ],
    ids=["edit", "delete", "reorder"],
)
def test_the_page_and_the_command_name_the_first_bad_row(client, login_as, runner, statements, first_bad):
    login_as(Role.AUDITOR)  # signing in writes entries 1..n of the chain too
    append(6)
    tamper_audit_log(*statements)
    shown = client.get("/audit/verify")
    assert "체인이 끊어졌습니다" in text_of(shown)
    assert f'<strong id="first-bad">{first_bad}</strong>' in page(shown)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"BROKEN at entry {first_bad}" in result.output
