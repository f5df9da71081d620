"""The application factory: the only place that wires the shell and every domain together."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from hrdnet import bounds
from hrdnet import config as config_module

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["WTF_I18N_ENABLED"] = False  # see hrdnet.forms.Form
    config_module.check_production_safety(app.config)
    bounds.init_app(app)  # before any route exists: every <int:...> is bounded to what the database holds
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from hrdnet.auth import log_scrub

    log_scrub.install()  # no one-time link token in any log line (old mails carry it in the path)

    from hrdnet import access, request_size

    # Before any hook that may read the body: a view's own body limit must be set before the stream opens.
    request_size.init_app(app)
    # First of all before_request hooks, so a refused request is refused before CSRF or rate limits run.
    app.before_request(access.enforce_access)
    _init_extensions(app)
    from search import engine as search_engine

    search_engine.check(app)  # SEARCH_BACKEND: refuse "postgresql" on SQLite before serving anything
    _init_domains(app)
    _register_blueprints(app)
    _init_web(app)
    _register_cli(app)
    return app


def _init_domains(app: Flask) -> None:
    """What a domain gives the shell through a registered interface, so that only this factory imports it."""
    import courses

    courses.init_app(app)


def _init_extensions(app: Flask) -> None:
    from hrdnet import audit
    from hrdnet import db as db_module
    from hrdnet.auth import loaders
    from hrdnet.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    db_module.configure_engine(app)
    audit.install_session_hooks()
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    loaders.init_login(login_manager)
    _import_models()


def _import_models() -> None:
    """Import every model module so SQLAlchemy (and Alembic's autogenerate) sees all tables."""
    import courses.models  # noqa: F401
    import hrdnet.audit  # noqa: F401
    import hrdnet.auth.jobs  # noqa: F401  (registers the password-reset outbox handler)
    import hrdnet.auth.models  # noqa: F401
    import hrdnet.auth.sessions  # noqa: F401  (server-side sessions, pending logins)
    import hrdnet.auth.throttle  # noqa: F401  (failure counters; registers their pruning job)
    import hrdnet.idempotency  # noqa: F401
    import hrdnet.mail  # noqa: F401  (registers its outbox handler)
    import hrdnet.outbox  # noqa: F401
    import hrdnet.worker  # noqa: F401
    import search.indexer  # noqa: F401  (registers the search.* outbox handlers)
    import search.saved  # noqa: F401  (saved searches; registers their alerts job)
    import vouchers
    from courses import portal

    portal.import_models()

    vouchers.import_models()


def _register_blueprints(app: Flask) -> None:
    import vouchers
    from courses import api as courses_api
    from courses import demo as courses_demo
    from courses import portal
    from courses import views as courses_views
    from hrdnet import admin, site
    from hrdnet.api import init_api
    from hrdnet.auth import api as auth_api
    from hrdnet.auth import views as auth_views
    from search import api as search_api
    from search import saved as search_saved
    from search import views as search_views

    app.register_blueprint(site.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(courses_views.bp)
    for blueprint in portal.blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(search_views.bp)
    courses_demo.register_demo_step(app, search_saved.demo_saved_search)  # run by `hrdnet demo load`
    vouchers.init_app(app)  # its pages, worker jobs, outbox handlers and the catalog's viewer price
    init_api(app, [auth_api.bp, courses_api.bp, portal.api_blueprint(), search_api.bp, *vouchers.api_blueprints()])


def _init_web(app: Flask) -> None:
    from hrdnet import access, errors, site, web
    from search import indexer as search_indexer

    access.declare_public(app, "static")
    errors.register_error_handlers(app)
    web.init_web(app)
    site.add_health_check(app, "search_index", search_indexer.status)


def _register_cli(app: Flask) -> None:
    import vouchers
    from courses import cli as courses_cli
    from hrdnet.cli import register_commands
    from search import cli as search_cli

    register_commands(app)
    courses_cli.register(app)
    search_cli.register(app)
    vouchers.register_cli(app)
