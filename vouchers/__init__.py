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
    import vouchers.cards.models  # noqa: F401
    import vouchers.enrolments.models  # noqa: F401
    import vouchers.ledger.models  # noqa: F401
    import vouchers.payments.models  # noqa: F401


def init_app(app: Flask) -> None:
    """The voucher domain's pages, worker jobs, outbox handlers and the catalog's viewer price."""
    from courses.services import register_viewer_balance, register_viewer_price
    from vouchers.web import payment_views, read_models, views

    app.register_blueprint(views.bp)
    app.register_blueprint(payment_views.bp)
    register_viewer_price(app, read_models.learner_price)
    register_viewer_balance(app, read_models.learner_balance)
    _register_jobs()
    _register_outbox_handlers()


def api_blueprints() -> list:
    """The domain's /api/v1 blueprints (hrdnet.api.init_api registers them with the others)."""
    from vouchers.web import api

    return [api.bp]


def register_cli(app: Flask) -> None:
    from vouchers import cli

    cli.register(app)


def _register_jobs() -> None:
    from hrdnet.worker import scheduled
    from vouchers import checkout
    from vouchers.cards import jobs as card_jobs
    from vouchers.enrolments import jobs as enrolment_jobs

    for name, every, run in (
        ("holds.expire", timedelta(minutes=1), enrolment_jobs.expire_holds),
        ("payments.cancel_abandoned", timedelta(minutes=1), checkout.cancel_abandoned),
        ("enrolments.start_training", timedelta(hours=1), enrolment_jobs.start_training),
        ("settlements.settle_due", timedelta(hours=6), enrolment_jobs.settle_periods),
        ("enrolments.complete_due", timedelta(hours=6), enrolment_jobs.decide_completions),
        ("cards.expire", timedelta(hours=6), card_jobs.expire_cards),
    ):
        scheduled(name, every=every)(run)


def _register_outbox_handlers() -> None:
    from hrdnet import outbox
    from vouchers import checkout
    from vouchers.payments import jobs as payment_jobs
    from vouchers.payments.operations import CANCEL_TOPIC, REFUND_TOPIC

    outbox.handler(REFUND_TOPIC)(payment_jobs.send_refund)
    outbox.handler(CANCEL_TOPIC)(checkout.send_cancel)
