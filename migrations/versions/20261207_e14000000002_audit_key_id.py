"""audit chain keyed: the AUDIT_KEYS id whose HMAC made each entry's hash

Revision ID: e14000000002
Revises: e14000000001
Create Date: 2026-12-07 18:20:00.000000

Entries written before this stay unkeyed (key_id NULL, plain SHA-256); `hrdnet audit verify` refuses an
unkeyed entry after the first keyed one, so the chain cannot be downgraded back to a hash anyone recomputes.
A plain ADD COLUMN (no batch): the table's append-only triggers stay in place on both databases.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e14000000002'
down_revision = 'e14000000001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_log', sa.Column('key_id', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('key_id')
