"""server-side sessions, pending second-factor logins, TOTP secrets encrypted at rest

Revision ID: 5e55101a0002
Revises: 1d3e0a1b0001
Create Date: 2026-12-04 10:00:00.000000

- `user_sessions`: one row per login; the cookie holds only a random key whose SHA-256 is stored here, and
  logout, a new password or a role change revoke the rows. It replaces `users.session_token`, which was one
  token per user, sent inside the cookie (also before the second factor).
- `pending_logins`: the state between the password and the TOTP code, formerly in the signed cookie.
- `users.totp_secret` (plaintext) becomes `users.totp_secret_encrypted` (Fernet, TOTP_ENCRYPTION_KEYS). The
  existing secrets are encrypted here with the app's first key, so enrolled staff keep their authenticator;
  downgrade decrypts them back (it needs the same keys).

`users` is altered with plain ADD/DROP COLUMN, not batch mode: on SQLite batch mode would rebuild `users`,
and dropping the old table with foreign keys on deletes (cascades from) every row that references it.
Every session open before this migration ends (their cookies carry the old `id:session_token` form).
"""
from alembic import op
import sqlalchemy as sa
import hrdnet.models_base


revision = '5e55101a0002'
down_revision = '1d3e0a1b0001'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String),
                 sa.column('totp_secret_encrypted', sa.String), sa.column('session_token', sa.String))


def _fernet():
    # The app's keys: Flask-Migrate runs migrations inside the app context (migrations/env.py).
    from hrdnet.auth import totp_keys

    return totp_keys


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', hrdnet.models_base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('pending_logins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('next_path', sa.String(length=2048), nullable=False),
    sa.Column('created_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', hrdnet.models_base.UTCDateTime(), nullable=False),
    sa.Column('enrolment_secret_encrypted', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pending_logins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_logins')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_pending_logins_key_hash'))
    )
    with op.batch_alter_table('pending_logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_logins_user_id'), ['user_id'], unique=False)

    op.add_column('users', sa.Column('totp_secret_encrypted', sa.String(length=255), nullable=True))
    connection = op.get_bind()
    keys = _fernet()
    rows = connection.execute(sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None)))
    for user_id, secret in rows.all():
        connection.execute(users.update().where(users.c.id == user_id)
                           .values(totp_secret_encrypted=keys.encrypt(secret)))
    op.drop_column('users', 'totp_secret')
    op.drop_column('users', 'session_token')


def downgrade():
    import secrets

    # SQLite adds a NOT NULL column only with a default; every row then gets its own random token.
    op.add_column('users', sa.Column('session_token', sa.String(length=32), nullable=False, server_default=''))
    op.add_column('users', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    keys = _fernet()
    rows = connection.execute(sa.select(users.c.id, users.c.totp_secret_encrypted))
    for user_id, encrypted in rows.all():
        connection.execute(users.update().where(users.c.id == user_id).values(
            session_token=secrets.token_hex(16),
            totp_secret=keys.decrypt(encrypted) if encrypted is not None else None))
    op.drop_column('users', 'totp_secret_encrypted')

    with op.batch_alter_table('pending_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_logins_user_id'))

    op.drop_table('pending_logins')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
