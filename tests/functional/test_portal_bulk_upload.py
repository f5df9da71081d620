"""Bulk submission of runs by CSV: each good row is submitted, each bad row reported with its line and why."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from courses.portal import fields
from courses.portal.models import Submission
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.support.portal import run_values, verify


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields.FIELDS))
    writer.writeheader()
    for values in rows:
        writer.writerow(
            {
                k: (
                    " ".join(d.isoformat() for d in v)
                    if k == "training_days"
                    else v.isoformat()
                    if hasattr(v, "isoformat")
                    else v
                )
                for k, v in values.items()
            }
        )
    return out.getvalue().encode()


def test_good_rows_are_submitted_and_bad_rows_reported(client, make_user, login, today):
    user = make_user("provider")
    verify(user.provider_id)
    login(user)
    good = run_values(today)
    later = run_values(
        today, start_date=good["start_date"] + timedelta(days=7), end_date=good["end_date"] + timedelta(days=7)
    )
    rows = [good, run_values(today, capacity=0), later, good, run_values(today) | {"fee": "구백만"}]
    response = client.post(
        "/provider/submissions/upload",
        data={
            "csrf_token": csrf_token(client, "/provider/submissions/upload"),
            "file": (io.BytesIO(_csv(rows)), "runs.csv"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "2건 승인 요청, 3건 오류" in page
    assert "<td>3</td><td>정원</td>" in page  # capacity 0
    assert "<td>5</td><td>과정명</td>" in page and "이미 제출했습니다" in page  # the same run twice
    assert "<td>6</td><td>훈련비</td>" in page  # not a number
    assert db.session.scalars(select(Submission.state)).all() == ["submitted", "submitted"]
