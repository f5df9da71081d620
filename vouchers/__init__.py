"""Lifelong Learning Card accounts: the ledger, cards, enrolments, payments, and checkout across them.

The rooms, each with the same files where it has them (models, operations, jobs), importing one way:

    ledger/      accounts, transfers, holds (knows nothing of cards)
    cards/       identity, identity review, rules, quote, cards        → ledger
    enrolments/  states, operations, refunds, attendance, settlement  → cards, ledger
    payments/    gateway and backends, attempts, webhooks, reconcile  → (its own models only)
    checkout.py  enrol → pay → confirm, cancel → refund: the only module importing enrolments and payments
    web/         views, payment views, api, forms, read models        → all of the above

The app factory (hrdnet.create_app) calls import_models(), init_app() and register_cli(): nothing registers
itself by being imported.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def import_models() -> None:
    """Import every voucher table so SQLAlchemy (and Alembic's autogenerate) sees them."""
    import vouchers.audit.models  # noqa: F401
    import vouchers.cards.models  # noqa: F401
    import vouchers.enrolments.models  # noqa: F401
    import vouchers.ledger.models  # noqa: F401
    import vouchers.payments.models  # noqa: F401
    import vouchers.ratings.models  # noqa: F401
    import vouchers.reminders.models  # noqa: F401


def init_app(app: Flask) -> None:
    """The voucher domain's pages, worker jobs, outbox handlers and the catalog's viewer price."""
    from courses.services import register_viewer_balance, register_viewer_price, register_viewer_pricing
    from hrdnet.site import register_auditor_home
    from vouchers.web import audit_views, payment_views, provider_views, read_models, views

    app.register_blueprint(views.bp)
    app.register_blueprint(provider_views.bp)
    app.register_blueprint(payment_views.bp)
    app.register_blueprint(audit_views.bp)
    register_auditor_home(app, audit_views.home_context)
    register_viewer_price(app, read_models.learner_price)
    app.jinja_env.globals["favourite_of"] = _favourite_of  # the run page's 관심 과정 button (only reads)
    app.jinja_env.globals["run_ratings"] = read_models.run_ratings  # the run page's ratings (only reads)
    register_viewer_balance(app, read_models.learner_balance)
    register_viewer_pricing(app, read_models.learner_pricing)
    _register_jobs()
    _register_outbox_handlers()


def _favourite_of(run_id: int) -> bool:
    from flask_login import current_user

    from vouchers.reminders import operations as reminders

    return current_user.is_authenticated and reminders.is_favourite(current_user.id, run_id)


def api_blueprints() -> list:
    """The domain's /api/v1 blueprints (hrdnet.api.init_api registers them with the others)."""
    from vouchers.web import api, audit_api, provider_api

    return [api.bp, provider_api.bp, audit_api.bp]


def register_cli(app: Flask) -> None:
    from vouchers import cli

    cli.register(app)


def _register_jobs() -> None:
    from hrdnet.worker import scheduled
    from vouchers import checkout
    from vouchers.audit import jobs as audit_jobs
    from vouchers.cards import jobs as card_jobs
    from vouchers.enrolments import jobs as enrolment_jobs
    from vouchers.reminders import jobs as reminder_jobs

    for name, every, run in (
        ("holds.expire", timedelta(minutes=1), enrolment_jobs.expire_holds),
        ("payments.cancel_abandoned", timedelta(minutes=1), checkout.cancel_abandoned),
        ("enrolments.start_training", timedelta(hours=1), enrolment_jobs.start_training),
        ("settlements.settle_due", timedelta(hours=6), audit_jobs.settle_then_flag),
        ("attendance.remind_unmarked", timedelta(hours=6), enrolment_jobs.remind_unmarked_attendance),
        ("enrolments.complete_due", timedelta(hours=6), enrolment_jobs.decide_completions),
        ("cards.expire", timedelta(hours=6), card_jobs.expire_cards),
        ("audit.refresh_spend", timedelta(minutes=5), audit_jobs.refresh_spend),
        ("reminders.send_due", timedelta(minutes=5), reminder_jobs.send_due),
    ):
        scheduled(name, every=every)(run)


def _register_outbox_handlers() -> None:
    from hrdnet import outbox
    from vouchers import checkout
    from vouchers.payments import jobs as payment_jobs
    from vouchers.payments.operations import CANCEL_TOPIC, REFUND_TOPIC
    from vouchers.reminders import jobs as reminder_jobs
    from vouchers.reminders.operations import SAVED_SEARCH_TOPIC

    outbox.handler(REFUND_TOPIC)(payment_jobs.send_refund)
    outbox.handler(CANCEL_TOPIC)(checkout.send_cancel)
    outbox.handler(SAVED_SEARCH_TOPIC)(reminder_jobs.saved_search_matched)
