"""provider vetting (verified_at), run submissions with revisions, provider notices, withdrawn runs

Revision ID: f15a00000001
Revises: e14000000002
Create Date: 2026-12-07 17:40:00.000000

- providers: `verified_at` (when an admin verified it; only verified providers submit) and `verified_by`
  (the admin's pseudonym).
- courses: `summary` and `target_learners`, as a provider's submission gives them.
- runs: lifecycle `withdrawn` (a provider took an approved run back: it leaves the catalog).
- `run_submissions`: one provider's proposal of one run through the approval workflow, and `run_revisions`,
  its numbered versions (the public sees the last approved one). `dedupe_key` is set while a submission is
  live, so the database refuses a second live submission of the same title and start date.
- `provider_notices`: what the provider is told in the portal (decisions on its submissions).
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'f15a00000001'
down_revision = "e14000000002"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('open', 'closed', 'cancelled', 'draft', 'submitted', 'rejected')"
NEW_STATUSES = "status IN ('open', 'closed', 'cancelled', 'draft', 'submitted', 'rejected', 'withdrawn')"


def upgrade():
    with op.batch_alter_table('providers') as batch:
        batch.add_column(sa.Column('verified_at', hrdnet.models_base.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('verified_by', sa.String(length=32), nullable=True))
    with op.batch_alter_table('courses') as batch:
        batch.add_column(sa.Column('summary', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('target_learners', sa.String(length=300), nullable=True))
    with op.batch_alter_table('runs') as batch:
        batch.drop_constraint(op.f('ck_runs_status_known'), type_='check')
        batch.create_check_constraint(op.f('ck_runs_status_known'), NEW_STATUSES)

    op.create_table('run_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('head', sa.Integer(), nullable=False),
    sa.Column('approved', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=340), nullable=True),
    sa.Column('submitted_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('decided_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'approved', 'rejected', 'withdrawn')",
                       name=op.f('ck_run_submissions_state_known')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_run_submissions_programme_id_programmes')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_run_submissions_provider_id_providers')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_submissions_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_submissions')),
    sa.UniqueConstraint('provider_id', 'dedupe_key', name=op.f('uq_run_submissions_provider_id_dedupe_key')),
    sa.UniqueConstraint('run_id', name=op.f('uq_run_submissions_run_id')),
    )
    op.create_index('ix_run_submissions_queue', 'run_submissions', ['state', 'submitted_at'])
    op.create_index(op.f('ix_run_submissions_provider_id'), 'run_submissions', ['provider_id'])
    op.create_table('run_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=32), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('submitted_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('decided_by', sa.String(length=32), nullable=True),
    sa.Column('decided_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.CheckConstraint("decision IS NULL OR decision IN ('approved', 'rejected')",
                       name=op.f('ck_run_revisions_decision_known')),
    sa.ForeignKeyConstraint(['submission_id'], ['run_submissions.id'],
                            name=op.f('fk_run_revisions_submission_id_run_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_revisions')),
    sa.UniqueConstraint('submission_id', 'number', name=op.f('uq_run_revisions_submission_id_number')),
    )
    op.create_table('provider_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=1000), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_notices_provider_id_providers')),
    sa.ForeignKeyConstraint(['submission_id'], ['run_submissions.id'],
                            name=op.f('fk_provider_notices_submission_id_run_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_notices')),
    )
    op.create_index(op.f('ix_provider_notices_provider_id'), 'provider_notices', ['provider_id'])


def downgrade():
    op.drop_index(op.f('ix_provider_notices_provider_id'), table_name='provider_notices')
    op.drop_table('provider_notices')
    op.drop_table('run_revisions')
    op.drop_index(op.f('ix_run_submissions_provider_id'), table_name='run_submissions')
    op.drop_index('ix_run_submissions_queue', table_name='run_submissions')
    op.drop_table('run_submissions')
    op.execute("UPDATE runs SET status = 'closed' WHERE status = 'withdrawn'")
    with op.batch_alter_table('runs') as batch:
        batch.drop_constraint(op.f('ck_runs_status_known'), type_='check')
        batch.create_check_constraint(op.f('ck_runs_status_known'), OLD_STATUSES)
    with op.batch_alter_table('courses') as batch:
        batch.drop_column('target_learners')
        batch.drop_column('summary')
    with op.batch_alter_table('providers') as batch:
        batch.drop_column('verified_by')
        batch.drop_column('verified_at')
