"""attendance mark `outing` (외출), provider staff duties

Revision ID: f15a00000002
Revises: f15a00000001
Create Date: 2026-12-07 17:50:00.000000

- attendance: a fifth mark, `outing` (외출), which counts with lates and early leaves toward an absence.
- `provider_staff`: a provider account's duties at its provider: `is_admin` (invites and removes the
  provider's staff) and `takes_attendance` (records attendance and sees learners' names unmasked). An
  account without a row is plain staff.
"""
from alembic import op
import sqlalchemy as sa


revision = 'f15a00000002'
down_revision = 'f15a00000001'
branch_labels = None
depends_on = None

OLD_MARKS = "mark IN ('present', 'late', 'early_leave', 'absent')"
NEW_MARKS = "mark IN ('present', 'late', 'early_leave', 'absent', 'outing')"


def upgrade():
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attendance_mark_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_attendance_mark_known'), NEW_MARKS)
    op.create_table('provider_staff',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('takes_attendance', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_staff_provider_id_providers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_provider_staff_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_provider_staff')),
    )
    op.create_index(op.f('ix_provider_staff_provider_id'), 'provider_staff', ['provider_id'])


def downgrade():
    op.drop_index(op.f('ix_provider_staff_provider_id'), table_name='provider_staff')
    op.drop_table('provider_staff')
    op.execute("UPDATE attendance SET mark = 'late' WHERE mark = 'outing'")
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attendance_mark_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_attendance_mark_known'), OLD_MARKS)
