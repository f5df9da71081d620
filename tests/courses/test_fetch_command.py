"""`hrdnet catalog fetch`: the OpenAPI stand-in on loopback → fetcher → importer → database."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from courses.models import ImportRun, Run, SourceRecord
from hrdnet.extensions import db

pytestmark = pytest.mark.both_dbs


@pytest.fixture
def app_config(app_config, api):
    return app_config | {"HRDNET_API_KEY": "test-key", "HRDNET_API_BASE": api.url, "HRDNET_FETCH_BACKOFF": 0.0}


def fetch(runner, tmp_path, *extra):
    report = tmp_path / "fetch-report.json"
    result = runner.invoke(
        args=[
            "catalog",
            "fetch",
            "--from",
            "2026-03-01",
            "--to",
            "2026-04-30",
            "--report",
            str(report),
            "--state",
            str(tmp_path / "state.json"),
            *extra,
        ]
    )
    return result, (json.loads(report.read_text(encoding="utf-8")) if report.exists() else None)


def runs_in_db() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Run))


def test_fetch_imports_every_page_and_a_second_fetch_changes_nothing(app, runner, api, tmp_path):  # noqa: F811
    api.load({date(2026, 3, d): 4 for d in range(1, 31)} | {date(2026, 4, d): 3 for d in range(1, 31)})
    result, report = fetch(runner, tmp_path)
    assert result.exit_code == 0, result.output
    assert report["created"] == 210 and report["rejected"] == 0 and report["fetch"]["pages"] >= 3
    assert runs_in_db() == 210
    again, report = fetch(runner, tmp_path)
    assert again.exit_code == 0 and report["unchanged"] == 210 and report["created"] == 0
    rows = db.session.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert [(r.format, r.status, r.range_from, r.range_to) for r in rows] == [
        ("hrdnet-api", "done", date(2026, 3, 1), date(2026, 4, 30))
    ] * 2


def test_an_error_document_fails_the_fetch_and_never_counts_as_no_courses(app, runner, api, tmp_path):  # noqa: F811
    api.load({date(2026, 3, d): 2 for d in range(1, 31)})
    fetch(runner, tmp_path)
    api.always = "error"  # e.g. the key was revoked: every page is `<GO24><error>…</error></GO24>`
    result, report = fetch(runner, tmp_path)
    assert result.exit_code != 0
    assert report["status"] == "partial" and "인증키" in report["message"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(SourceRecord.not_seen_since.is_not(None))) == 0
    assert runs_in_db() == 60


def test_a_missing_key_is_a_clear_error(app, runner, tmp_path):
    app.config["HRDNET_API_KEY"] = ""
    result, _ = fetch(runner, tmp_path)
    assert result.exit_code != 0 and "HRDNET_API_KEY" in result.output
