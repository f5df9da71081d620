"""attendance_corrections: auditor-approved changes to marks of a settled unit period

Revision ID: f15a00000005
Revises: f15a00000004
Create Date: 2026-12-07 19:20:00.000000
"""
from alembic import op
import sqlalchemy as sa

from hrdnet.models_base import UTCDateTime


revision = 'f15a00000005'
down_revision = 'f15a00000004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attendance_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('period', sa.Integer(), nullable=False),
        sa.Column('previous_mark', sa.String(length=12), nullable=True),
        sa.Column('mark', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('requested_at', UTCDateTime(), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=False),
        sa.Column('amount_change', sa.BigInteger(), nullable=False),
        sa.Column('transfer_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("mark IN ('present', 'late', 'early_leave', 'absent', 'outing')", name=op.f('ck_attendance_corrections_mark_known')),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_attendance_corrections_status_known')),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_attendance_corrections_enrolment_id_enrolments')),
        sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_attendance_corrections_transfer_id_transfers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_corrections')),
    )
    with op.batch_alter_table('attendance_corrections') as batch:
        batch.create_index(batch.f('ix_attendance_corrections_enrolment_id'), ['enrolment_id'], unique=False)
        batch.create_index(batch.f('ix_attendance_corrections_status'), ['status'], unique=False)


def downgrade():
    op.drop_table('attendance_corrections')
