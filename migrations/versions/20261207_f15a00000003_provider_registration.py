"""provider registration and vetting: representative, contact, the verification note, documents, claims

Revision ID: f15a00000003
Revises: f15a00000002
Create Date: 2026-12-07 18:00:00.000000

- providers: `representative` (대표자), `contact_email`, `registered_at` (set when the provider registered
  here; feed-only providers have none) and `verification_note` (the admin's record of the out-of-band check).
- `provider_documents`: documents a registering provider uploaded (stored under the instance folder by hash).
- `provider_claims`: a registered provider's claim of the runs feeds brought in under a source id (HRD-Net
  trainstCstId), waiting for an admin.
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = 'f15a00000003'
down_revision = 'f15a00000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('providers') as batch:
        batch.add_column(sa.Column('representative', sa.String(length=50), nullable=True))
        batch.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('registered_at', hrdnet.models_base.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('verification_note', sa.String(length=1000), nullable=True))
    op.create_table('provider_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=32), nullable=False),
    sa.Column('uploaded_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('business_registration', 'training_facility', 'other')",
                       name=op.f('ck_provider_documents_kind_known')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_documents_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_documents')),
    )
    op.create_index(op.f('ix_provider_documents_provider_id'), 'provider_documents', ['provider_id'])
    op.create_table('provider_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('claimed_by', sa.String(length=32), nullable=False),
    sa.Column('claimed_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=32), nullable=True),
    sa.Column('decided_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'refused')", name=op.f('ck_provider_claims_status_known')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_claims_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_claims')),
    sa.UniqueConstraint('provider_id', 'source', 'external_id', name=op.f('uq_provider_claims_provider_id_source_external_id')),
    )


def downgrade():
    op.drop_table('provider_claims')
    op.drop_index(op.f('ix_provider_documents_provider_id'), table_name='provider_documents')
    op.drop_table('provider_documents')
    with op.batch_alter_table('providers') as batch:
        batch.drop_column('verification_note')
        batch.drop_column('registered_at')
        batch.drop_column('contact_email')
        batch.drop_column('representative')
