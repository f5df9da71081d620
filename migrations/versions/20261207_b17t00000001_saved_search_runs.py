"""saved searches' known runs (alerts for runs that come to match after an edit), runs.updated_at indexed

Existing saved searches get known_at = checked_at, but no known runs: their first look after the upgrade may
announce an existing run an edit touched (before, only new runs alerted). Acceptable for a feature this new.

Revision ID: b17t00000001
Revises: b17s00000001
Create Date: 2026-12-07 21:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'b17t00000001'
down_revision = 'b17s00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_search_runs',
    sa.Column('saved_search_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('alerted_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_saved_search_runs_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_search_id'], ['saved_searches.id'], name=op.f('fk_saved_search_runs_saved_search_id_saved_searches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('saved_search_id', 'run_id', name=op.f('pk_saved_search_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_updated_at'), ['updated_at'], unique=False)
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('known_at', hrdnet.models_base.UTCDateTime(), nullable=True))
    # Searches saved before: what they find now is known (their alerts so far covered new runs only).
    op.execute("UPDATE saved_searches SET known_at = checked_at")


def downgrade():
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.drop_column('known_at')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_updated_at'))
    op.drop_table('saved_search_runs')
