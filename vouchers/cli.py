"""`hrdnet ledger …`, `hrdnet cards …`, `hrdnet attendance …`, `hrdnet enrolments …`: the voucher domain's commands
(and `hrdnet payments …` from vouchers.payments.cli), and `hrdnet demo load`, which needs every layer below.
Each command owns its one unit of work."""

from __future__ import annotations

import sys

import click
from flask import Flask

ledger_cli = click.Group("ledger", help="The voucher ledger.")
cards_cli = click.Group("cards", help="Lifelong Learning Cards (내일배움카드).")
attendance_cli = click.Group("attendance", help="Attendance and provider settlement.")
enrolments_cli = click.Group("enrolments", help="Enrolments: the worker's jobs, by hand.")
demo_cli = click.Group("demo", help="Demo data for development.")
CLI_ACTOR = "cli"


@ledger_cli.command("verify")
def verify_command():
    """Recompute every balance from the entries and check every transfer; exit 1 on any mismatch."""
    from vouchers.ledger import operations as ledger

    report = ledger.verify()
    summary = (
        f"{report.accounts} accounts, {report.transfers} transfers, {report.entries} entries, "
        f"{report.holds} holds ({report.pending_holds} pending)"
    )
    if not report.ok:
        click.echo(f"ledger BROKEN: {len(report.problems)} problem(s) in {summary}", err=True)
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"ledger intact: {summary}; every transfer balances and every cached balance equals its entries")


@cards_cli.command("issue")
@click.argument("email")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="won (default: the rule file's limit)")
@click.option("--valid-years", type=click.IntRange(min=1), default=None)
@click.option("--account", type=click.Choice(["card", "kdigital"]), default="card")
def issue_command(email: str, limit: int | None, valid_years: int | None, account: str):
    """Issue a card (or K-Digital Credit account) to a learner, as an admin approving would; prints the card id.

    A learner who applied has their application approved; one who has not verified identity yet is linked to
    a person from the details of their account (the admin vouches for them).
    """
    from sqlalchemy import select

    from hrdnet.auth.models import User
    from hrdnet.db import unit_of_work
    from hrdnet.errors import DomainError
    from hrdnet.extensions import db
    from hrdnet.timeutil import kst_today
    from vouchers.cards import operations as cards
    from vouchers.cards.models import ApplicationStatus, CardApplication

    with unit_of_work(write_lock=True):
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or user.role != "learner":
            raise click.ClickException(f"no learner account {email}")
        try:
            person = cards.person_of(user.id) or cards.link_unverified(user.id, actor=CLI_ACTOR)
            application = db.session.scalar(
                select(CardApplication).where(
                    CardApplication.person_id == person.id, CardApplication.status == ApplicationStatus.SUBMITTED
                )
            )
            if application is not None and account == "card" and limit is None and valid_years is None:
                card_id = cards.decide_application(
                    application.id, approve=True, actor=CLI_ACTOR, today=kst_today()
                ).card_id
            else:
                card_id = cards.issue_card(
                    person.id, kind=account, today=kst_today(), actor=CLI_ACTOR, limit=limit, valid_years=valid_years
                ).id
        except DomainError as error:
            raise click.ClickException(error.message) from None
    click.echo(card_id)


@attendance_cli.command("record")
@click.argument("enrolment_id", type=int)
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("mark", type=click.Choice(["present", "late", "early_leave", "absent", "outing"]))
def record_command(enrolment_id: int, day, mark: str):
    """Record one scheduled training day's attendance of an enrolment (never a day still to come)."""
    from hrdnet.db import unit_of_work
    from hrdnet.timeutil import kst_today
    from vouchers.enrolments import attendance

    with _domain_errors(), unit_of_work(write_lock=True):
        attendance.record(enrolment_id, day.date(), mark, actor=CLI_ACTOR, today=kst_today())
    click.echo(f"enrolment {enrolment_id}: {day.date()} {mark}")


@attendance_cli.command("settle")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def settle_command(today):
    """Settle every ended unit period (what the worker does every six hours): unmarked scheduled days are absences."""
    from hrdnet.db import unit_of_work
    from hrdnet.timeutil import kst_today
    from vouchers.audit import jobs as audit_jobs
    from vouchers.enrolments import attendance

    with _domain_errors(), unit_of_work(write_lock=True):
        count = attendance.settle_due(today.date() if today else kst_today(), actor=CLI_ACTOR)
    click.echo(f"settled {count} unit period(s)")
    audit_jobs.after_settlement()  # the risk rules look at what was just paid


@enrolments_cli.command("complete")
@click.argument("enrolment_id", type=int)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def complete_command(enrolment_id: int, today):
    """Decide completion of an enrolment whose run ended, from its attendance: 수료 at or above the completion
    rate, 미수료 below it (what the worker does for every ended run)."""
    from hrdnet.db import unit_of_work
    from hrdnet.timeutil import kst_today
    from vouchers.enrolments import endings

    with _domain_errors(), unit_of_work(write_lock=True):
        enrolment = endings.decide_completion(enrolment_id, on=today.date() if today else kst_today(), actor=CLI_ACTOR)
        status = enrolment.status
    click.echo(f"enrolment {enrolment_id}: {status}")


@enrolments_cli.command("exemption")
@click.argument("enrolment_id", type=int)
@click.argument("decision", type=click.Choice(["accept", "reject"]))
@click.option("--note", default="", help="what was checked (no personal data)")
def exemption_command(enrolment_id: int, decision: str, note: str):
    """Confirm (accept) or refuse (reject) the evidence of the exempt reason a learner gave when leaving."""
    from hrdnet.db import unit_of_work
    from hrdnet.timeutil import kst_today
    from vouchers.enrolments import endings

    with _domain_errors(), unit_of_work(write_lock=True):
        row = endings.decide_reason(
            enrolment_id, accept=decision == "accept", on=kst_today(), actor=CLI_ACTOR, note=note
        )
        status = row.status
    click.echo(f"enrolment {enrolment_id}: sanction {status}")


class _domain_errors:
    """Turn a domain refusal into a one-line error and exit status 1."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback):
        from hrdnet.errors import DomainError

        if isinstance(error, DomainError):
            raise click.ClickException(error.message) from None
        return False


@demo_cli.command("load")
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=3000,
    show_default=True,
    help="run records in the demo catalog (providers scale with it: one per ~120 runs)",
)
@click.option("--seed", type=int, default=1, show_default=True, help="the same runs and seed give the same catalog")
def demo_load_command(runs: int, seed: int):
    """Load a realistic demo catalog and demo users (one per role); idempotent. Prints counts and the logins."""
    from vouchers import demo as demo_module

    with click.progressbar(
        length=1, label="데모 카탈로그 가져오는 중", file=sys.stderr, show_percent=True, show_eta=True
    ) as bar:

        def advance(done: int, total: int) -> None:
            bar.length = total
            if done > bar.pos:
                bar.update(done - bar.pos)

        lines = list(demo_module.load(runs=runs, seed=seed, progress=advance))
    for line in lines:
        click.echo(line)


@click.command("flags")
@click.option("--json", "as_json", is_flag=True, help="print the flags as JSON lines")
def audit_flags_command(as_json: bool):
    """Run the risk rules (vouchers/data/audit_rules.toml) and list every flag with why it fired."""
    import json

    from hrdnet.db import unit_of_work
    from vouchers.audit import rules
    from vouchers.audit.scope import Scope

    with unit_of_work(write_lock=True):
        counts = rules.run()
    for flag in rules.flags(Scope(None)):
        if as_json:
            fields = ("id", "rule", "subject_type", "subject_id", "status", "explanation")
            record = {name: getattr(flag, name) for name in fields}
            click.echo(json.dumps({**record, "numbers": json.loads(flag.numbers)}, ensure_ascii=False))
        else:
            click.echo(
                f"#{flag.id} [{flag.status}] {flag.rule} {flag.subject_type} {flag.subject_id}: {flag.explanation}"
            )
    click.echo(", ".join(f"{rule} {count}" for rule, count in counts.items()), err=as_json)


@demo_cli.command("audit")
def demo_audit_command():
    """Demo spending and one risk flag of every rule for the audit console (idempotent; PAYMENT_BACKEND=local)."""
    from vouchers import demo as demo_module

    for line in demo_module.load_audit_demo():
        click.echo(line)


def register(app: Flask) -> None:
    from hrdnet.cli import audit_cli
    from vouchers.payments.cli import payments_cli

    audit_cli.add_command(audit_flags_command)  # `hrdnet audit flags` beside `hrdnet audit verify`
    for group in (ledger_cli, cards_cli, attendance_cli, enrolments_cli, payments_cli, demo_cli):
        app.cli.add_command(group)
