"""user_sessions.password_confirmed_at: when the password was last re-entered on a form that spends money

Revision ID: c14h00000001
Revises: d18p00000001
Create Date: 2026-12-07 21:00:00.000000

The enrol form asks for the password again only once per window (sessions.REAUTH_WINDOW) after the last
time it was entered there, instead of running argon2 on every enrolment. A plain ADD COLUMN.
"""
from alembic import op
import sqlalchemy as sa

from hrdnet.models_base import UTCDateTime


revision = 'c14h00000001'
down_revision = 'd18p00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user_sessions', sa.Column('password_confirmed_at', UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('password_confirmed_at')
