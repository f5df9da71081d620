"""audit console: spend aggregated per run and month (with its watermark), risk flags

Revision ID: a16000000001
Revises: f15a00000005
Create Date: 2026-12-07 18:00:00.000000

`audit_spend` is a cache of the ledger that vouchers.audit.spend.refresh() fills from the transfers after
the watermark in `audit_spend_mark`; readers add the newer transfers live, so nothing shown ever lags.
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'a16000000001'
down_revision = "f15a00000005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_spend',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('ministry_id', sa.Integer(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('region', sa.String(length=2), nullable=True),
    *[sa.Column(name, sa.BigInteger(), nullable=False) for name in
      ('card_draw', 'self_pay', 'funded', 'refunds', 'penalties', 'deducted', 'settled', 'held', 'entries')],
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_audit_spend_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_spend')),
    sa.UniqueConstraint('run_id', 'month', name='uq_audit_spend_run_month'),
    )
    op.create_index(op.f('ix_audit_spend_run_id'), 'audit_spend', ['run_id'], unique=False)
    op.create_index(op.f('ix_audit_spend_ministry_id'), 'audit_spend', ['ministry_id'], unique=False)
    op.create_table('audit_spend_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_transfer_id', sa.BigInteger(), nullable=False),
    sa.Column('refreshed_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_spend_mark')),
    )
    op.create_table('audit_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_label', sa.String(length=300), nullable=False),
    sa.Column('ministry_ids', sa.String(length=200), nullable=False),
    sa.Column('numbers', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('first_seen', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('last_seen', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_flags')),
    sa.UniqueConstraint('rule', 'subject_type', 'subject_id', name='uq_audit_flags_subject'),
    sa.CheckConstraint("status IN ('open', 'reviewed')", name=op.f('ck_audit_flags_status_known')),
    )
    op.create_index(op.f('ix_audit_flags_rule'), 'audit_flags', ['rule'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_audit_flags_rule'), table_name='audit_flags')
    op.drop_table('audit_flags')
    op.drop_table('audit_spend_mark')
    op.drop_index(op.f('ix_audit_spend_ministry_id'), table_name='audit_spend')
    op.drop_index(op.f('ix_audit_spend_run_id'), table_name='audit_spend')
    op.drop_table('audit_spend')
