"""sanctions on people, money owed by them, training-cost deductions, 미수료 and completion kinds

Revision ID: c41e0d000002
Revises: c41e0d000001
Create Date: 2026-12-07 16:00:00.000000

- `sanctions`: one row per enrolment that ended without completing and counts (or may count) toward a
  penalty: claimed (an exempt reason waits for the provider's or an admin's decision), applied or waived.
  It belongs to the person, so a sanction lands on their current card or the next one.
- account kinds `owed_card` / `owed_kdigital` (owner: person, may go negative: a negative balance is what the
  person still owes on that schedule) and transfer kinds `deduction` (training cost the attendance earned,
  drawn from the card on a KDT dropout) and `collect` (money owed, collected from money that came back).
- enrolments: `deducted` (the deduction alone; `penalty` is the sanction alone), `completion_kind`
  (정상수료 normal, 80%이상수료 over_80, 조기취업 early_employment) and `left_on` (the day a learner left).
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'c41e0d000002'
down_revision = 'c41e0d000001'
branch_labels = None
depends_on = None

ACCOUNT_KINDS = [
    ('owed_card', 'person', 'credit', True, '미회수 제재금(내일배움카드)'),
    ('owed_kdigital', 'person', 'credit', True, '미회수 제재금(K-디지털 크레딧)'),
]
PAYMENT_FLAG_KINDS = "kind IN ('late_success_refunded', 'duplicate_refunded', 'amount_mismatch', 'card_unusable_refunded'"
TRANSFER_KINDS = [
    ('deduction', '훈련받은 기간의 훈련비 카드 차감'),
    ('collect', '미회수 제재금 회수'),
]


def upgrade():
    account_kinds = sa.table(
        'account_kinds', sa.column('code'), sa.column('owner_type'), sa.column('normal_side'),
        sa.column('may_go_negative'), sa.column('label'),
    )
    transfer_kinds = sa.table('transfer_kinds', sa.column('code'), sa.column('label'))
    op.bulk_insert(account_kinds, [dict(zip(('code', 'owner_type', 'normal_side', 'may_go_negative', 'label'), row))
                                   for row in ACCOUNT_KINDS])
    op.bulk_insert(transfer_kinds, [{'code': code, 'label': label} for code, label in TRANSFER_KINDS])

    op.add_column('enrolments', sa.Column('deducted', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('enrolments', sa.Column('completion_kind', sa.String(length=20), nullable=True))
    op.add_column('enrolments', sa.Column('left_on', sa.Date(), nullable=True))

    op.create_table('sanctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('programme_code', sa.String(length=16), nullable=False),
    sa.Column('track', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('penalty', sa.BigInteger(), nullable=False),
    sa.Column('deduction', sa.BigInteger(), nullable=False),
    sa.Column('suspend_days', sa.Integer(), nullable=False),
    sa.Column('suspended_until', sa.Date(), nullable=True),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("outcome IN ('dropped', 'incomplete')", name=op.f('ck_sanctions_outcome_known')),
    sa.CheckConstraint("status IN ('claimed', 'applied', 'waived')", name=op.f('ck_sanctions_status_known')),
    sa.CheckConstraint("track IN ('card', 'kdigital')", name=op.f('ck_sanctions_track_known')),
    sa.CheckConstraint('penalty >= 0 AND deduction >= 0 AND suspend_days >= 0', name=op.f('ck_sanctions_amounts_not_negative')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_sanctions_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sanctions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanctions')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_sanctions_enrolment_id'))
    )
    with op.batch_alter_table('sanctions', schema=None) as batch_op:
        batch_op.create_index('ix_sanctions_person_track_status', ['person_id', 'track', 'status'], unique=False)
    # A payment that succeeded for an enrolment whose card was suspended since its hold: refunded, flagged.
    with op.batch_alter_table('payment_flags', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_flags_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_flags_kind_known'), PAYMENT_FLAG_KINDS + ")")


def downgrade():
    with op.batch_alter_table('payment_flags', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_flags_kind_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_payment_flags_kind_known'), "kind IN ('late_success_refunded', 'duplicate_refunded', 'amount_mismatch')"
        )
    with op.batch_alter_table('sanctions', schema=None) as batch_op:
        batch_op.drop_index('ix_sanctions_person_track_status')
    op.drop_table('sanctions')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('left_on')
        batch_op.drop_column('completion_kind')
        batch_op.drop_column('deducted')
    op.execute("DELETE FROM transfer_kinds WHERE code IN ('deduction', 'collect')")
    op.execute("DELETE FROM account_kinds WHERE code IN ('owed_card', 'owed_kdigital')")
