"""`hrdnet payments …`: reconciliation with the payment processor (docs/payments.md)."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

payments_cli = click.Group("payments", help="Co-payments and the payment processor.")


@payments_cli.command("reconcile")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="KST day to reconcile (default: yesterday)",
)
@click.option("--days", type=click.IntRange(min=1, max=31), default=1, help="number of days from --date")
def reconcile_command(day, days: int):
    """List the processor's payments and refunds for the day and compare them with the ledger.

    Prints each mismatch (paid but not enrolled, enrolled but not paid, amount differs) and stores the report
    for /admin/payments/reconcile. Exit 0: everything matches; 1: mismatches; 2: processor unreachable.
    """
    from hrdnet.db import unit_of_work
    from hrdnet.timeutil import kst_today
    from vouchers.payments import reconcile
    from vouchers.payments.gateway import ProcessorUnavailable

    start = day.date() if day else kst_today() - timedelta(days=1)
    end = start + timedelta(days=days - 1)
    try:
        findings = reconcile.compare(start, end)  # the processor's records: no transaction open meanwhile
    except ProcessorUnavailable as error:
        click.echo(f"reconciliation FAILED: {error.message}", err=True)
        sys.exit(2)
    with unit_of_work(write_lock=True):
        report = reconcile.store(findings)
    period = str(start) if start == end else f"{start}..{end}"
    summary = (
        f"{report.backend} {period}: {report.processor_payments} payment(s), {report.processor_refunds} "
        f"refund(s) at the processor; {report.matched} matched, {report.mismatch_count} mismatch(es) "
        f"(report #{report.id})"
    )
    if report.mismatch_count:
        click.echo(f"reconciliation MISMATCH: {summary}", err=True)
        for m in report.mismatches:
            click.echo(
                f"  - {m['kind']}: payment {m['payment_ref'] or '-'} (#{m['payment_id'] or '-'}), "
                f"enrolment {m['enrolment_id'] or '-'}: processor {m['processor_amount']:,}원, "
                f"ledger {m['ledger_amount']:,}원 — {m['detail']}",
                err=True,
            )
        sys.exit(1)
    click.echo(f"reconciliation OK: {summary}")
