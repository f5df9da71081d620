"""`hrdnet search …`: rebuild the index, show its state."""

from __future__ import annotations

import json
import os
import sys

import click

search_cli = click.Group("search", help="The course search index.")


@search_cli.command("reindex")
@click.option(
    "--procs",
    type=click.IntRange(min=1),
    default=None,
    help="worker processes for the Korean analysis (default: the CPU count, at most 2)",
)
def reindex_command(procs: int | None):
    """Rebuild the index from the database into a new directory, then swap it in atomically.

    Searches keep answering from the old index meanwhile; changes committed during the rebuild are
    replayed into the new one before the swap.
    """
    from search import engine
    from search.index import store

    procs = procs or max(1, min(os.cpu_count() or 1, 2))
    with click.progressbar(
        length=1, label="검색 색인 만드는 중", file=sys.stderr, show_percent=True, show_eta=True
    ) as bar:

        def advance(done: int, total: int) -> None:
            bar.length = max(total, 1)
            if done > bar.pos:
                bar.update(done - bar.pos)

        try:
            result = engine.rebuild(procs=procs, progress=advance)
        except store.IndexBusy:
            raise click.ClickException("다른 색인 재구축이 진행 중입니다. 끝난 뒤 다시 실행하세요.") from None
    if engine.backend() == "postgresql":
        click.echo(
            f"indexed {result.runs} runs ({result.courses} courses, {result.terms} terms) in {result.seconds:.1f} s "
            "→ the PostgreSQL search tables"
        )
        return
    click.echo(
        f"indexed {result.runs} runs ({result.courses} courses) in {result.seconds:.1f} s "
        f"({result.size_bytes / 1e6:.1f} MB, {result.replayed} changed meanwhile) → {result.name}"
    )


@search_cli.command("status")
def status_command():
    """Print the live index's state as JSON (what /healthz reports)."""
    from search import indexer

    click.echo(json.dumps(indexer.status(), ensure_ascii=False, indent=1))


def register(app) -> None:
    app.cli.add_command(search_cli)
