"""Alembic environment for Flask-Migrate: the app's engine and metadata, nothing deprecated."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from search.pg import TABLES as SEARCH_TABLES

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

extension = current_app.extensions["migrate"]
target_metadata = extension.db.metadata


def include_name(name, type_, parent_names) -> bool:
    """Autogenerate and `hrdnet db check` compare the models only: the PostgreSQL search backend's tables are
    its migration's own (search.pg.TABLES)."""
    return not (type_ == "table" and name in SEARCH_TABLES)


def run_migrations_offline() -> None:
    context.configure(
        url=str(extension.db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        **extension.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context_, revision, directives):
        # `hrdnet db migrate` with no model change writes no empty migration file.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    configure_args = dict(extension.configure_args)
    configure_args.setdefault("process_revision_directives", skip_empty)
    configure_args.setdefault("include_name", include_name)
    with extension.db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
