"""attendance_corrections: one pending request per enrolment and day, enforced by the database

request() checks for a waiting request before it inserts, but two concurrent requests can both pass that
check; the partial unique index makes the second one fail, and request() turns that into CorrectionPending.

Revision ID: a15c00000001
Revises: b17t00000001
Create Date: 2026-12-07 20:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'a15c00000001'
down_revision = 'b17t00000001'
branch_labels = None
depends_on = None

PENDING = "status = 'pending'"


def upgrade():
    with op.batch_alter_table('attendance_corrections') as batch:
        batch.create_index('uq_attendance_corrections_pending', ['enrolment_id', 'day'], unique=True,
                           sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade():
    with op.batch_alter_table('attendance_corrections') as batch:
        batch.drop_index('uq_attendance_corrections_pending')
