"""ratings from completers, the provider's reply and an admin's hiding

Revision ID: b17a00000002
Revises: b17a00000001
Create Date: 2026-12-07 18:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'b17a00000002'
down_revision = 'b17a00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('reply', sa.String(length=1000), nullable=True),
    sa.Column('replied_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('hidden_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_ratings_score_range')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_ratings_course_id_courses')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_ratings_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_ratings_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_ratings_enrolment_id'))
    )
    op.create_index(op.f('ix_ratings_course_id'), 'ratings', ['course_id'], unique=False)
    op.create_index(op.f('ix_ratings_run_id'), 'ratings', ['run_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ratings_run_id'), table_name='ratings')
    op.drop_index(op.f('ix_ratings_course_id'), table_name='ratings')
    op.drop_table('ratings')
