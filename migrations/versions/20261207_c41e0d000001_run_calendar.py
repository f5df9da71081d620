"""run calendar and application window: the scheduled training days of every run, stored with it

Revision ID: c41e0d000001
Revises: 7a7700000003
Create Date: 2026-12-07 15:00:00.000000

Every rule that counts training days (attendance rates, unit-period shares, refunds, withdrawal windows)
reads `runs.schedule`: one "1" (training day) or "0" per calendar day from start to end. Existing runs get
the calendar their feed values give (courses.calendar.derive_schedule), in batches; the column is then made
NOT NULL. `apply_from`/`apply_until` hold an application window a provider set (NULL: the programme's
default).
"""
from alembic import op
import sqlalchemy as sa


revision = 'c41e0d000001'
down_revision = '7a7700000003'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    from courses.calendar import derive_schedule  # the rule that defines a feed run's calendar

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('schedule_source', sa.String(length=8), server_default='feed', nullable=False))
        batch_op.add_column(sa.Column('apply_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('apply_until', sa.Date(), nullable=True))

    runs = sa.table(
        'runs',
        sa.column('id', sa.Integer),
        sa.column('start_date', sa.Date),
        sa.column('end_date', sa.Date),
        sa.column('weekend', sa.String),
        sa.column('days', sa.Integer),
        sa.column('schedule', sa.Text),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(runs.c.id, runs.c.start_date, runs.c.end_date, runs.c.weekend, runs.c.days)
            .where(runs.c.id > last_id)
            .order_by(runs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            runs.update().where(runs.c.id == sa.bindparam('run_id')).values(schedule=sa.bindparam('calendar')),
            [
                {'run_id': row.id, 'calendar': derive_schedule(row.start_date, row.end_date, row.weekend, row.days)}
                for row in rows
            ],
        )
        last_id = rows[-1].id

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.alter_column('schedule', existing_type=sa.Text(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_runs_schedule_source_known'), "schedule_source IN ('feed', 'provider')")
        batch_op.create_check_constraint(
            op.f('ck_runs_window_in_order'), 'apply_until IS NULL OR apply_from IS NULL OR apply_from <= apply_until'
        )


def downgrade():
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_runs_window_in_order'), type_='check')
        batch_op.drop_constraint(op.f('ck_runs_schedule_source_known'), type_='check')
        batch_op.drop_column('apply_until')
        batch_op.drop_column('apply_from')
        batch_op.drop_column('schedule_source')
        batch_op.drop_column('schedule')
