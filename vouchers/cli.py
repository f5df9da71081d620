"""`hrdnet ledger …`: check the voucher ledger against itself."""

from __future__ import annotations

import sys

import click
from flask import Flask

ledger_cli = click.Group("ledger", help="The voucher ledger.")


@ledger_cli.command("verify")
def verify_command():
    """Recompute every balance from the entries and check every transfer; exit 1 on any mismatch."""
    from vouchers import ledger

    report = ledger.verify()
    summary = (f"{report.accounts} accounts, {report.transfers} transfers, {report.entries} entries, "
               f"{report.holds} holds ({report.pending_holds} pending)")
    if not report.ok:
        click.echo(f"ledger BROKEN: {len(report.problems)} problem(s) in {summary}", err=True)
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"ledger intact: {summary}; every transfer balances and every cached balance equals its entries")


def register(app: Flask) -> None:
    app.cli.add_command(ledger_cli)
