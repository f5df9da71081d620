"""Migrations: upgrade an empty database to head, down to base, up again, and no drift from the models."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from hrdnet.extensions import db


@pytest.mark.both_dbs
def test_upgrade_downgrade_upgrade_leaves_no_drift(empty_app):
    upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "audit_log", "outbox", "api_tokens", "email_tokens", "job_runs"} <= tables
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    result = empty_app.test_cli_runner().invoke(args=["db", "check"])  # what `hrdnet db check` runs
    assert result.exit_code == 0, result.output


def test_db_check_fails_when_a_model_changes_without_a_migration(empty_app, caplog):
    """The drift check is real: a column added to a model but not to a migration is reported."""
    from sqlalchemy import Column, Integer

    from courses.models import Ministry

    upgrade()
    column = Column("extra_for_test", Integer)
    Ministry.__table__.append_column(column)
    try:
        result = empty_app.test_cli_runner().invoke(args=["db", "check"])
    finally:
        Ministry.__table__._columns.remove(column)
    assert result.exit_code != 0
    assert "extra_for_test" in caplog.text


@pytest.mark.both_dbs
def test_runs_that_existed_before_calendars_get_the_calendar_their_feed_values_give(empty_app):
    """The run-calendar migration backfills every existing run (courses.calendar.derive_schedule)."""
    from datetime import date

    from sqlalchemy import text

    upgrade(revision="7a7700000003")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO providers (id, name, name_key, created_at, updated_at)"
                " VALUES (1, '한빛', '한빛', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO courses (id, title, provider_id, match_key, created_at, updated_at)"
                " VALUES (1, '과정', 1, 'k', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for run_id, start, end, weekend, days in (
            (1, date(2026, 9, 21), date(2026, 10, 2), "weekday", None),  # 추석 24–26 Sep
            (2, date(2026, 11, 7), date(2026, 11, 15), "weekend", 4),
        ):
            connection.execute(
                text(
                    "INSERT INTO runs (id, course_id, run_number, start_date, end_date, weekend, mode, days, fee,"
                    " capacity, source_enrolled, local_enrolled, status, created_at, updated_at)"
                    " VALUES (:id, 1, 1, :start, :end, :weekend, 'classroom', :days, 0, 10, 0, 0, 'open',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": run_id, "start": start, "end": end, "weekend": weekend, "days": days},
            )
    upgrade()
    with db.engine.connect() as connection:
        schedules = dict(connection.execute(text("SELECT id, schedule FROM runs ORDER BY id")).all())
    assert schedules == {1: "111000011111", 2: "110000011"}
