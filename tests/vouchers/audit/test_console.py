"""The audit console over HTTP: dashboard and API scoped to the auditor's ministry, drill-down to the ledger and
the audit log, masking with a logged reason, exports (CSV and XLSX) that are scoped, neutralised and logged."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
from sqlalchemy import select

from hrdnet import audit
from hrdnet.access import Role
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.support.audit import bearer, ledger_reference, money_world
from tests.support.pages import main_text, page, text_of
from vouchers.audit import spend
from vouchers.audit.models import MEASURES
from vouchers.audit.spend import Filters


def audit_actions(action: str) -> list[audit.AuditEntry]:
    return list(db.session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == action)))


def test_each_ministry_sees_its_own_money_in_pages_and_api_and_admins_see_all(client, world, login_as):
    money = money_world(world)
    auditor = login_as(Role.AUDITOR, ministry_code="MSS")
    dashboard = client.get("/audit/spend")
    assert dashboard.status_code == 200
    assert "바다 코딩스쿨" in page(dashboard) and "한빛 디지털아카데미" not in page(dashboard)
    assert page(dashboard).count("<svg") == 4 and page(dashboard).count("<table") == 4  # each chart has its table
    body = client.get("/api/v1/audit/spend?group_by=provider", headers=bearer(auditor)).get_json()
    assert [row["key"] for row in body["rows"]] == [str(money.mss_provider_id)]
    assert body["rows"][0]["card_draw"] == money.mss_enrolment.card_draw
    assert body["rows"][0]["entries"] > 0
    other = client.get("/api/v1/audit/spend?group_by=provider&ministry=1", headers=bearer(auditor)).get_json()
    assert other["rows"] == body["rows"]  # an auditor cannot widen the scope
    assert client.get(f"/audit/runs/{money.moel_run.id}").status_code == 404
    assert client.get(f"/audit/enrolments/{money.settled_enrolment.id}").status_code == 404
    assert client.get(f"/audit/learners/{money.settled_enrolment.person_id}").status_code == 404
    assert "한빛" not in page(client.get("/audit/"))  # the auditor home shows this ministry's totals
    assert auditor.ministry_id == money.mss_run.programme.ministry_id

    client.get("/logout")
    admin = login_as(Role.ADMIN)
    everything = client.get("/api/v1/audit/spend?group_by=region", headers=bearer(admin)).get_json()
    reference = ledger_reference()
    assert {m: everything["totals"][m] for m in MEASURES} == {m: reference[m] for m in MEASURES}
    assert {row["label"] for row in everything["rows"]} == {"서울특별시", "부산광역시"}


def test_from_a_number_to_the_ledger_entries_and_audit_rows_behind_it(client, world, login_as):
    money = money_world(world)
    login_as(Role.AUDITOR, ministry_code="MOEL")
    dashboard = page(client.get("/audit/spend"))
    programme = re.search(r'href="(/audit/spend\?programme=' + str(money.moel_run.programme_id) + r')"', dashboard)
    dashboard = page(client.get(programme.group(1)))  # programme → its providers
    link = re.search(r'href="(/audit/runs\?[^"]*provider=' + str(money.moel_provider_id) + r'[^"]*)"', dashboard)
    runs = page(client.get(link.group(1).replace("&amp;", "&")))
    assert f'href="/audit/runs/{money.moel_run.id}"' in runs
    run_page = client.get(f"/audit/runs/{money.moel_run.id}")
    assert "홍*동" in main_text(run_page) and "홍길동" not in main_text(run_page)  # learners masked
    dropped = money.dropped_enrolment
    detail = text_of(client.get(f"/audit/enrolments/{dropped.id}"))
    assert "중도탈락 제재 차감" in detail and "ledger.transfer" in detail and "enrolment.drop" in detail
    (line,) = spend.lines("run", Filters(run_id=money.moel_run.id))
    assert f"{line.amounts['penalties']:,}원" in text_of(run_page)


def test_a_stated_reason_unmasks_a_learner_and_is_logged(client, world, login_as):
    money = money_world(world)
    auditor = login_as(Role.AUDITOR, ministry_code="MOEL")
    path = f"/audit/learners/{money.settled_enrolment.person_id}"
    assert "홍*동" in page(client.get(path))
    token = csrf_token(client, path)
    refused = client.post(f"{path}/unmask", data={"reason": "확인", "csrf_token": token})
    assert refused.status_code == 400 and audit_actions("audit.unmask") == []
    shown = client.post(f"{path}/unmask", data={"reason": "2027년 4월 출석 정산 이의 건 확인", "csrf_token": token})
    assert shown.status_code == 200 and "홍길동" in page(shown)
    (entry,) = audit_actions("audit.unmask")
    assert (
        entry.actor == auditor.pseudonym
        and "출석 정산" in entry.data
        and entry.subject_id == str(money.settled_enrolment.person_id)
    )
    assert "홍길동" not in entry.data


def test_exports_carry_filters_and_time_neutralise_formulas_stay_in_scope_and_are_logged(client, world, login_as):
    money = money_world(world)
    money.mss_run.course.provider.name = '=HYPERLINK("http://evil")'
    db.session.commit()
    login_as(Role.AUDITOR, ministry_code="MSS")
    token = csrf_token(client, "/audit/spend")
    form = {"csrf_token": token, "table": "spend", "group_by": "provider", "month_from": "2026-01"}
    response = client.post("/audit/export", data={**form, "format": "csv"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "표" and "month_from=2026-01" in rows[1][1] and rows[2][0].startswith("내보낸 시각")
    assert rows[5][1] == '\'=HYPERLINK("http://evil")'  # text, not a formula
    assert len(rows) == 6  # the MSS provider alone

    response = client.post("/audit/export", data={**form, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    cells = [row for row in sheet.iter_rows(values_only=True)]
    assert cells[5][1] == '\'=HYPERLINK("http://evil")' and cells[5][2] == money.mss_enrolment.card_draw

    entries = client.post("/audit/export", data={"csrf_token": token, "table": "entries", "format": "csv"})
    lines = list(csv.reader(io.StringIO(entries.get_data(as_text=True).lstrip("\ufeff"))))[5:]
    assert lines and {line[5] for line in lines} == {str(money.mss_run.id)}  # no other ministry's entries
    refused = client.post(
        "/audit/export", data={"csrf_token": token, "table": "enrolments", "run": money.moel_run.id, "format": "csv"}
    )
    assert refused.status_code == 404
    logged = audit_actions("audit.export")
    assert [(e.subject_id, '"format":"csv"' in e.data) for e in logged] == [
        ("spend", True),
        ("spend", False),
        ("entries", True),
    ]
