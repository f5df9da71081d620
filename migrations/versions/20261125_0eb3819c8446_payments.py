"""payments: processor events (each acted on once), payment flags, reconciliation reports

Revision ID: 0eb3819c8446
Revises: e3dd39994a76
Create Date: 2026-11-25 21:01:48.982090

`payment_events` is UNIQUE on (backend, event_id): a webhook delivered twice, or by two requests at the same
moment, is recorded once, in the transaction that applies it. No existing table is altered (the ledger's
triggers stay untouched).
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = '0eb3819c8446'
down_revision = 'e3dd39994a76'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reconciliation_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('processor_payments', sa.Integer(), nullable=False),
    sa.Column('processor_refunds', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('mismatch_count', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('period_start <= period_end', name=op.f('ck_reconciliation_reports_period_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_reports'))
    )
    op.create_table('payment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payment_ref', sa.String(length=100), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.Column('received_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_events_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events')),
    sa.UniqueConstraint('backend', 'event_id', name='uq_payment_events_event')
    )
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_events_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_events_payment_ref'), ['payment_ref'], unique=False)

    op.create_table('payment_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('late_success_refunded', 'duplicate_refunded', 'amount_mismatch')", name=op.f('ck_payment_flags_kind_known')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_flags_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_flags')),
    sa.UniqueConstraint('payment_id', 'kind', name='uq_payment_flags_payment_kind')
    )
    with op.batch_alter_table('payment_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_flags_payment_id'), ['payment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_flags_payment_id'))

    op.drop_table('payment_flags')
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_events_payment_ref'))
        batch_op.drop_index(batch_op.f('ix_payment_events_payment_id'))

    op.drop_table('payment_events')
    op.drop_table('reconciliation_reports')
