"""`memlane registry start|stop|status`: the local schema registry (Apicurio, Confluent-compatible API)."""

from __future__ import annotations

import json

import typer

from streams.broker.registry import LocalRegistry
from streams.cli.context import console, get_settings, reported_errors

app = typer.Typer(
    help="Control the local schema registry (Apicurio Registry from infra/apicurio, loopback only).",
    no_args_is_help=True,
)


@app.command()
def start(ctx: typer.Context) -> None:
    """Start the registry (fetched through Maven on first use) and set its compatibility rule."""
    settings = get_settings(ctx)
    with reported_errors():
        registry = LocalRegistry(settings.registry_settings())
        status = registry.start()
    if status.already_running:
        console.print(f"registry already running: pid {status.pid} at {status.url}")
    else:
        console.print(
            f"registry started: pid {status.pid} in {status.startup_s:.1f}s (Apicurio {status.version}, "
            f"{settings.registry.compatibility}, data {status.data_dir})"
        )
    console.print(f"MEMLANE_SCHEMA_REGISTRY_URL={status.url}", highlight=False, soft_wrap=True)


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the registry; does nothing if it is not running."""
    settings = get_settings(ctx)
    with reported_errors():
        stopped = LocalRegistry(settings.registry_settings()).stop()
    console.print("registry stopped" if stopped else "registry was not running")


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Say whether the registry runs and where. Exit 3 when it is not running."""
    settings = get_settings(ctx)
    with reported_errors():
        state = LocalRegistry(settings.registry_settings()).status()
    if as_json:
        console.print_json(json.dumps(state.as_dict()))
    else:
        word = "running" if state.running else "not running"
        console.print(f"registry {word}: pid {state.pid}, {state.url}, data {state.data_dir}")
    if not state.running:
        raise typer.Exit(3)
