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
