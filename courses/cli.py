"""`hrdnet catalog …`: import feeds, fetch from the HRD-Net/고용24 OpenAPI, refresh reference data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app

catalog = click.Group("catalog", help="The course catalog: feeds and reference data.")


def _write_report(report_path: str | None, report: dict) -> None:
    if report_path:
        Path(report_path).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


def _progress_bar(label: str, length: int):
    return click.progressbar(length=length, label=label, file=sys.stderr, show_percent=True, show_eta=True)


@catalog.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["hrdnet-xml", "csv", "json"]), required=True)
@click.option("--source", default=None, help="source name (default: hrdnet for hrdnet-xml, else the file stem)")
@click.option("--report", "report_path", default=None, help="write a JSON report here")
@click.option("--allow-shrink", is_flag=True, help="accept a feed that is empty or far smaller than before")
def import_command(path: Path, fmt: str, source: str | None, report_path: str | None, allow_shrink: bool):
    """Import a feed file; prints created/updated/unchanged/rejected."""
    from courses.ingest.importer import ImportRefused, import_file
    from courses.ingest.records import FeedUnreadable

    source = source or ("hrdnet" if fmt == "hrdnet-xml" else path.stem)
    if not path.is_file():
        raise click.ClickException(f"파일을 찾을 수 없습니다: {path}")
    size = path.stat().st_size
    try:
        # Two streaming passes (check, then import) over the file: the bar covers both.
        with _progress_bar("검사·가져오는 중", 2 * size) as bar:
            position = [0]

            def advance(offset: int) -> None:
                if offset < position[0]:  # the second pass starts at the top of the file again
                    position[0] = 0
                bar.update(offset - position[0])
                position[0] = offset

            result = import_file(path, fmt, source=source, actor="cli", allow_shrink=allow_shrink, progress=advance)
    except FeedUnreadable as exc:
        _write_report(
            report_path,
            {
                "created": 0,
                "updated": 0,
                "unchanged": 0,
                "rejected": 0,
                "status": "failed",
                "message": str(exc),
                "rejections": [],
            },
        )
        raise click.ClickException(f"파일을 읽을 수 없습니다: {exc}") from None
    except ImportRefused as exc:
        _write_report(
            report_path,
            {
                "created": 0,
                "updated": 0,
                "unchanged": 0,
                "rejected": 0,
                "status": "refused",
                "message": str(exc),
                "rejections": [],
            },
        )
        raise click.ClickException(str(exc)) from None
    _write_report(report_path, result.as_report())
    click.echo(
        f"created {result.created} / updated {result.updated} / unchanged {result.unchanged} / "
        f"rejected {result.rejected} / marked missing {result.marked_missing}"
    )
    click.echo(result.message)
    for rejection in result.rejections[:20]:
        click.echo(f"  거부: {rejection.position} {rejection.key or ''} — {rejection.reason}", err=True)
    if len(result.rejections) > 20:
        click.echo(f"  … 그 밖의 거부 {len(result.rejections) - 20}건은 --report 파일에 있습니다.", err=True)
    if result.status == "partial":
        sys.exit(1)


@catalog.command("fetch")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first training start date")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="last training start date")
@click.option("--report", "report_path", default=None, help="write a JSON report here")
@click.option("--state", "state_path", default=None, help="resume file (default: instance/hrdnet-fetch.json)")
@click.option("--allow-shrink", is_flag=True, help="mark unlisted runs missing even if far fewer came back")
def fetch_command(start, end, report_path: str | None, state_path: str | None, allow_shrink: bool):
    """Pull runs from the HRD-Net/고용24 OpenAPI (HRDNET_API_KEY, HRDNET_API_BASE) through the importer."""
    from courses.ingest.fetcher import Fetcher, FetchFailed
    from courses.ingest.importer import import_records

    start, end = start.date(), end.date()
    state = Path(state_path or Path(current_app.instance_path) / "hrdnet-fetch.json")
    try:
        fetcher = Fetcher.from_config(current_app.config, state_path=state, auto_checkpoint=False)
    except FetchFailed as exc:
        raise click.ClickException(exc.message) from None
    # The fetcher records a page as done only after the batch holding it was committed (checkpoint), so
    # a crash re-fetches at most the pages of one uncommitted batch; the upsert makes that harmless.
    result = import_records(
        fetcher.fetch(start, end),
        source="hrdnet",
        fmt="hrdnet-api",
        actor="cli",
        range_from=start,
        range_to=end,
        after_batch=fetcher.checkpoint,
        guard_shrink=True,
        allow_shrink=allow_shrink,
        whole_range=lambda: not fetcher.stats.resumed,
    )
    fetcher.checkpoint()
    report = result.as_report() | {"fetch": fetcher.stats.as_dict()}
    _write_report(report_path, report)
    click.echo(
        f"created {result.created} / updated {result.updated} / unchanged {result.unchanged} / "
        f"rejected {result.rejected} / marked missing {result.marked_missing}"
    )
    click.echo(result.message)
    if result.status != "done":
        sys.exit(1)


@catalog.command("reference")
def reference_command():
    """Upsert the shipped NCS, region, ministry and programme tables."""
    from courses import reference
    from hrdnet.db import unit_of_work

    with unit_of_work(write_lock=True) as session:
        added = reference.sync(session)
    click.echo(", ".join(f"{table} +{n}" for table, n in added.items()))


def register(app) -> None:
    app.cli.add_command(catalog)
