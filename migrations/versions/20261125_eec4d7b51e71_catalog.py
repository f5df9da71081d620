"""catalog: programmes, providers, courses, listings, runs, provenance, imports, reference data

Revision ID: eec4d7b51e71
Revises: 3ed26ce714b8
Create Date: 2026-11-25 17:37:08.571500
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base
from courses.reference import read_csv


revision = 'eec4d7b51e71'
down_revision = '3ed26ce714b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=True),
    sa.Column('file_hash', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('started_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('finished_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.Column('range_from', sa.Date(), nullable=True),
    sa.Column('range_to', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('marked_missing', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('rejections', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'done', 'partial', 'failed', 'refused')", name=op.f('ck_imports_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imports_source'), ['source'], unique=False)

    op.create_table('ncs_codes',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_code', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_ncs_codes'))
    )
    op.create_table('regions',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('parent_code', sa.String(length=5), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('ncs_code', sa.String(length=8), nullable=True),
    sa.Column('match_key', sa.String(length=64), nullable=False),
    sa.Column('contents', sa.Text(), nullable=True),
    sa.Column('certificate', sa.String(length=300), nullable=True),
    sa.Column('keywords', sa.String(length=500), nullable=True),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_courses_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_match_key'), ['match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_ncs_code'), ['ncs_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_provider_id'), ['provider_id'], unique=False)

    op.create_table('programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('ministry_id', sa.Integer(), nullable=False),
    sa.Column('voucher_kind', sa.String(length=16), nullable=False),
    sa.Column('pricing_rule', sa.String(length=32), nullable=True),
    sa.CheckConstraint("voucher_kind IN ('card', 'kdigital', 'none')", name=op.f('ck_programmes_voucher_kind_known')),
    sa.ForeignKeyConstraint(['ministry_id'], ['ministries.id'], name=op.f('fk_programmes_ministry_id_ministries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programmes')),
    sa.UniqueConstraint('code', name=op.f('uq_programmes_code'))
    )
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programmes_ministry_id'), ['ministry_id'], unique=False)

    op.create_table('provider_source_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_source_ids_provider_id_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_source_ids')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_provider_source_ids_source_external_id'))
    )
    with op.batch_alter_table('provider_source_ids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_source_ids_provider_id'), ['provider_id'], unique=False)

    op.create_table('region_aliases',
    sa.Column('old_code', sa.String(length=5), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['regions.code'], name=op.f('fk_region_aliases_code_regions')),
    sa.PrimaryKeyConstraint('old_code', 'code', name=op.f('pk_region_aliases'))
    )
    op.create_table('course_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_listings_course_id_courses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_listings')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_course_listings_source_external_id'))
    )
    with op.batch_alter_table('course_listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_listings_course_id'), ['course_id'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('run_number', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('weekend', sa.String(length=8), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=True),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('fee', sa.Integer(), nullable=False),
    sa.Column('actual_cost', sa.Integer(), nullable=True),
    sa.Column('support_amount', sa.Integer(), nullable=True),
    sa.Column('general_self_pay', sa.Integer(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('source_enrolled', sa.Integer(), nullable=False),
    sa.Column('local_enrolled', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('ncs_code', sa.String(length=8), nullable=True),
    sa.Column('region_code', sa.String(length=5), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('satisfaction', sa.Float(), nullable=True),
    sa.Column('employment_rate_3m', sa.Float(), nullable=True),
    sa.Column('employment_rate_6m', sa.Float(), nullable=True),
    sa.Column('employment_count_3m', sa.Integer(), nullable=True),
    sa.Column('completers', sa.Integer(), nullable=True),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("mode IN ('classroom', 'remote', 'blended', 'unknown')", name=op.f('ck_runs_mode_known')),
    sa.CheckConstraint("status IN ('open', 'closed', 'cancelled', 'draft', 'submitted', 'rejected')", name=op.f('ck_runs_status_known')),
    sa.CheckConstraint("weekend IN ('weekday', 'weekend', 'mixed', 'unknown')", name=op.f('ck_runs_weekend_known')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_runs_dates_in_order')),
    sa.CheckConstraint('fee >= 0 AND capacity >= 0 AND source_enrolled >= 0 AND local_enrolled >= 0', name=op.f('ck_runs_amounts_not_negative')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_runs_course_id_courses')),
    sa.ForeignKeyConstraint(['listing_id'], ['course_listings.id'], name=op.f('fk_runs_listing_id_course_listings')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_runs_programme_id_programmes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_ncs_code'), ['ncs_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_region_code'), ['region_code'], unique=False)
        batch_op.create_index('ix_runs_start_date', ['start_date'], unique=False)

    op.create_table('source_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_key', sa.String(length=80), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('last_seen', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('not_seen_since', sa.Date(), nullable=True),
    sa.Column('last_import_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['last_import_id'], ['imports.id'], name=op.f('fk_source_records_last_import_id_imports')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_source_records_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_records')),
    sa.UniqueConstraint('source', 'external_key', name=op.f('uq_source_records_source_external_key'))
    )
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_records_last_import_id'), ['last_import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_records_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('region_code', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=30), nullable=True))
        # Existing providers get the migration time; new rows get theirs from the model.
        batch_op.add_column(sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False,
                                      server_default=sa.text('CURRENT_TIMESTAMP')))
        batch_op.add_column(sa.Column('updated_at', hrdnet.models_base.UTCDateTime(), nullable=False,
                                      server_default=sa.text('CURRENT_TIMESTAMP')))
        batch_op.create_index(batch_op.f('ix_providers_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_providers_region_code'), ['region_code'], unique=False)

    _load_reference_data()


def _load_reference_data():
    """The shipped NCS, region, ministry and programme tables (courses/data/), as of this migration."""
    ncs = sa.table('ncs_codes', sa.column('code'), sa.column('level'), sa.column('name'), sa.column('parent_code'))
    op.bulk_insert(ncs, [{'code': r['code'], 'level': int(r['level']), 'name': r['name'],
                          'parent_code': r['parent_code'] or None} for r in read_csv('ncs.csv')])
    regions = read_csv('regions.csv')
    region = sa.table('regions', sa.column('code'), sa.column('level'), sa.column('name'), sa.column('parent_code'))
    op.bulk_insert(region, [{'code': r['code'], 'level': int(r['level']), 'name': r['name'],
                             'parent_code': r['parent_code'] or None} for r in regions])
    alias = sa.table('region_aliases', sa.column('old_code'), sa.column('code'))
    op.bulk_insert(alias, [{'old_code': old, 'code': r['code']}
                           for r in regions for old in filter(None, r['old_code'].split(';'))])
    bind = op.get_bind()
    ministries = sa.table('ministries', sa.column('id'), sa.column('code'), sa.column('name'))
    known = {code for (code,) in bind.execute(sa.select(ministries.c.code))}
    op.bulk_insert(ministries, [r for r in read_csv('ministries.csv') if r['code'] not in known])
    ids = dict(bind.execute(sa.select(ministries.c.code, ministries.c.id)).all())
    programmes = sa.table('programmes', sa.column('code'), sa.column('name'), sa.column('ministry_id'),
                          sa.column('voucher_kind'), sa.column('pricing_rule'))
    op.bulk_insert(programmes, [{'code': r['code'], 'name': r['name'], 'ministry_id': ids[r['ministry']],
                                 'voucher_kind': r['voucher_kind'], 'pricing_rule': r['pricing_rule'] or None}
                                for r in read_csv('programmes.csv')])


def downgrade():
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_providers_region_code'))
        batch_op.drop_index(batch_op.f('ix_providers_name_key'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('created_at')
        batch_op.drop_column('phone')
        batch_op.drop_column('address')
        batch_op.drop_column('region_code')
        batch_op.drop_column('name_key')

    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_records_run_id'))
        batch_op.drop_index(batch_op.f('ix_source_records_last_import_id'))

    op.drop_table('source_records')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_start_date')
        batch_op.drop_index(batch_op.f('ix_runs_region_code'))
        batch_op.drop_index(batch_op.f('ix_runs_programme_id'))
        batch_op.drop_index(batch_op.f('ix_runs_ncs_code'))
        batch_op.drop_index(batch_op.f('ix_runs_listing_id'))
        batch_op.drop_index(batch_op.f('ix_runs_course_id'))

    op.drop_table('runs')
    with op.batch_alter_table('course_listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_listings_course_id'))

    op.drop_table('course_listings')
    op.drop_table('region_aliases')
    with op.batch_alter_table('provider_source_ids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_source_ids_provider_id'))

    op.drop_table('provider_source_ids')
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programmes_ministry_id'))

    op.drop_table('programmes')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_provider_id'))
        batch_op.drop_index(batch_op.f('ix_courses_ncs_code'))
        batch_op.drop_index(batch_op.f('ix_courses_match_key'))

    op.drop_table('courses')
    op.drop_table('regions')
    op.drop_table('ncs_codes')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_source'))

    op.drop_table('imports')
