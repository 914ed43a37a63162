"""ms-cds: serve the service, evaluate a request file offline."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from cds_service.config import Settings

app = typer.Typer(help="MS CDS Hooks service", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema (card ledger, feedback)", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings_or_exit() -> Settings:
    """The effective settings, or one readable line per bad setting and exit code 2."""
    from cds_service.config import InvalidSettings, load_settings

    try:
        return load_settings()
    except InvalidSettings as exc:
        for line in exc.lines:
            typer.echo(line, err=True)
        raise typer.Exit(2) from None


LogFormat = Literal["json", "console"]


@app.command()
def serve(
    dev: Annotated[
        bool, typer.Option("--dev", help="Development mode (no auth, http allowed)")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: CDS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default: CDS_PORT)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: CDS_WORKERS)")
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option("--log-format", help="json or console (default: CDS_LOG_FORMAT)"),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="Log level (default: CDS_LOG_LEVEL)")
    ] = None,
) -> None:
    """Serve the CDS Hooks service with uvicorn (graceful shutdown on SIGTERM)."""
    _serve(
        {
            "CDS_DEV": "true" if dev else None,
            "CDS_HOST": host,
            "CDS_PORT": None if port is None else str(port),
            "CDS_WORKERS": None if workers is None else str(workers),
            "CDS_LOG_FORMAT": log_format,
            "CDS_LOG_LEVEL": log_level,
        }
    )


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: CDS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default: CDS_PORT)")] = None,
) -> None:
    """Development mode plus synthetic demo patients (read-only FHIR R4 at /demo/fhir);
    prints a CDS Hooks sandbox link per patient and a curl for an MSC order."""
    _serve(
        {
            "CDS_DEV": "true",
            "CDS_DEMO": "true",
            "CDS_HOST": host,
            "CDS_PORT": None if port is None else str(port),
        },
        banner=True,
    )


def _serve(overrides: dict[str, str | None], banner: bool = False) -> None:
    import uvicorn

    from cds_service.cli.serving import APP, prepare_multiprocess_metrics, uvicorn_options

    # Options go through the environment: every worker process builds its own Settings.
    os.environ.update({k: v for k, v in overrides.items() if v is not None})
    settings = _settings_or_exit()
    problems = settings.production_problems()
    if problems:
        typer.secho("ms-cds refuses to start in production mode:", err=True, fg="red", bold=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2)
    if settings.dev:
        typer.secho(
            "DEVELOPMENT MODE: client JWT verification is OFF, any caller is trusted, "
            "patient hashes use a fixed key. Never expose this server.",
            err=True,
            fg="red",
            bold=True,
        )
    if banner:
        from cds_service.demo import start_banner
        from cds_service.demo.links import local_base

        typer.echo(
            start_banner(settings.public_base_url or local_base(settings.host, settings.port))
        )
    prepare_multiprocess_metrics(settings.workers)
    uvicorn.run(APP, **uvicorn_options(settings))


@app.command("config")
def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the settings table (defaults) for docs")
    ] = False,
    update_docs: Annotated[
        Path | None,
        typer.Option(
            "--update-docs",
            dir_okay=False,
            help="Rewrite the settings table in this file (docs/configuration.md)",
        ),
    ] = None,
) -> None:
    """Print the effective configuration, secrets masked (or document every setting)."""
    from cds_service.config import as_env_lines, effective, markdown_table, update_table

    if update_docs is not None:
        changed = update_table(update_docs)
        typer.echo(f"{update_docs}: {'updated' if changed else 'up to date'}")
        return
    if markdown:
        typer.echo(markdown_table(), nl=False)
        return
    values = effective(_settings_or_exit())
    if as_json:
        typer.echo(json.dumps(values, indent=2))
        return
    typer.echo("\n".join(as_env_lines(values)))


@app.command("evaluate")
def evaluate_file(
    request_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A CDS Hooks request (JSON)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the exact response")] = False,
    service_id: Annotated[
        str | None, typer.Option("--service", help="Service id (default: from the hook)")
    ] = None,
    today: Annotated[str | None, typer.Option(help="Evaluate as of this date (YYYY-MM-DD)")] = None,
) -> None:
    """Print the cards the service would return for a request file."""
    from cds_hooks import WireError, parse_request
    from cds_service.body import decode_body
    from cds_service.catalogue import SERVICES, service_for_hook
    from cds_service.errors import BadRequest, CDSError, as_cds_error, operation_outcome
    from cds_service.pipeline import run_service

    console = _console()
    settings = _settings_or_exit()
    try:
        body = decode_body(
            request_file.read_bytes(), settings.max_json_depth, settings.max_element_depth
        )
    except BadRequest as exc:
        console.print(f"[red]not valid JSON:[/red] {'; '.join(exc.diagnostics)}")
        raise typer.Exit(2) from None
    try:
        hook_request = parse_request(body)
        service = SERVICES.get(service_id) if service_id else service_for_hook(hook_request.hook)
        if service is None:
            raise typer.BadParameter(f"no service for {service_id or hook_request.hook!r}")
        as_of = date.fromisoformat(today) if today else datetime.now(UTC).date()
        response, _ = asyncio.run(run_service(service, hook_request, settings, as_of))
    except (CDSError, WireError) as exc:
        error = as_cds_error(exc)
        outcome = operation_outcome(error.issue_code, error.diagnostics, error.expressions)
        typer.echo(json.dumps(outcome, indent=2))
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(response, indent=2))
        return
    _print_cards(console, response["cards"])


def _console() -> Console:
    # rich is imported by the commands that print tables, not by `serve`.
    from rich.console import Console

    return Console()


def _print_cards(console: Console, cards: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not cards:
        console.print("No cards.")
        return
    table = Table(title=f"{len(cards)} card(s)", show_lines=True)
    for column in ("indicator", "topic", "summary", "suggestions"):
        table.add_column(column)
    for card in cards:
        suggestions = "\n".join(s["label"] for s in card.get("suggestions", []))
        table.add_row(
            card["indicator"],
            card["source"].get("topic", {}).get("code", ""),
            card["summary"],
            suggestions,
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply the database migrations (CDS_DATABASE_URL; default the SQLite file)."""
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage.engine import make_engine, redacted_url
    from cds_service.storage.migrate import current_revision, upgrade

    settings = _settings_or_exit()
    engine = make_engine(settings.database_url, settings.database_connect_timeout)
    try:
        upgrade(engine, revision)
        typer.echo(f"{redacted_url(settings.database_url)}: at revision {current_revision(engine)}")
    except SQLAlchemyError as exc:
        typer.echo(f"migration failed: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the code's."""
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage.engine import make_engine, redacted_url
    from cds_service.storage.migrate import current_revision, head_revision

    settings = _settings_or_exit()
    engine = make_engine(settings.database_url, settings.database_connect_timeout)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        typer.echo(f"database unreachable: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(
        f"{redacted_url(settings.database_url)}: {current or 'empty'} (code: {head_revision()})"
    )


@app.command()
def report(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (as /analytics/cards)")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Only cards issued and feedback received since (ISO 8601)")
    ] = None,
) -> None:
    """Card override analytics per topic: issued, feedback, accepted, overridden, reasons."""
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.storage.engine import make_engine
    from cds_service.storage.report import card_report, parse_since

    try:
        since_at = parse_since(since) if since else None
    except ValueError:
        raise typer.BadParameter(
            "must be an ISO 8601 date or date-time", param_hint="--since"
        ) from None
    settings = _settings_or_exit()
    engine = make_engine(settings.database_url, settings.database_connect_timeout)
    try:
        figures = card_report(engine, since_at)
    except SQLAlchemyError as exc:
        typer.echo(f"database unavailable: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    _print_report(_console(), figures)


def _reasons_text(reasons: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['display'] or r['code']}: {r['count']}" for r in reasons)


def _print_report(console: Console, figures: dict[str, Any]) -> None:
    from rich.table import Table

    title = "Card feedback per topic" + (f" since {figures['since']}" if figures["since"] else "")
    table = Table(title=title, show_lines=True)
    table.add_column("topic", no_wrap=True)
    for column in ("issued", "feedback", "accepted", "overridden", "comments"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("override reasons")
    rows = [(t["topic"], t) for t in figures["topics"]]
    unknown = figures["unknownCards"]
    if unknown["feedbackReceived"]:
        rows.append(("(unknown card)", {**unknown, "cardsIssued": None}))
    for name, entry in rows:
        issued = entry["cardsIssued"]
        table.add_row(
            name,
            "-" if issued is None else str(issued),
            str(entry["feedbackReceived"]),
            str(entry["accepted"]),
            str(entry["overridden"]),
            str(entry["comments"]),
            _reasons_text(entry["overrideReasons"]),
        )
    if not rows:
        console.print("No cards issued and no feedback received.")
        return
    console.print(table)
