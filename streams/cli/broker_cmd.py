"""`memlane broker start|stop|status`: the local single-node Kafka broker from `infra/kafka`."""

from __future__ import annotations

import json

import typer

from schemas.errors import ConfigError
from streams.cli.context import console, get_settings, reported_errors
from streams.wiring.broker import local_broker

app = typer.Typer(help="Control the local single-node Kafka broker (KRaft) started from infra/.", no_args_is_help=True)


@app.command()
def start(
    ctx: typer.Context,
    auth: str | None = typer.Option(
        None,
        "--auth",
        help="none, or scram: SASL/SCRAM-SHA-512 over TLS with a CA of its own; the user of MEMLANE_SASL_USERNAME "
        "/ MEMLANE_SASL_PASSWORD is let in (default MEMLANE_BROKER__AUTH). Fixed when the data is formatted.",
    ),
) -> None:
    """Start the broker (formats the data directory on first use); does nothing if it is running."""
    settings = get_settings(ctx)
    with reported_errors():
        if auth is not None:
            if auth not in ("none", "scram"):
                raise ConfigError(f"--auth {auth}: choose none or scram")
            settings = settings.model_copy(update={"broker": settings.broker.model_copy(update={"auth": auth})})
        status = local_broker(settings).start()
    if status.already_running:
        console.print(f"broker already running: pid {status.pid} at {status.bootstrap}")
    else:
        console.print(
            f"broker started: pid {status.pid} at {status.bootstrap} in {status.startup_s:.1f}s "
            f"(Kafka {status.kafka_version}, data {status.data_dir})"
        )
    if status.ca_location is not None:
        console.print(
            f"clients connect with SASL/SCRAM-SHA-512 over TLS: MEMLANE_KAFKA_BOOTSTRAP={status.bootstrap} "
            "MEMLANE_SECURITY_PROTOCOL=SASL_SSL MEMLANE_SASL_MECHANISM=SCRAM-SHA-512 "
            f"MEMLANE_SSL_CA_LOCATION={status.ca_location} (and MEMLANE_SASL_USERNAME / MEMLANE_SASL_PASSWORD)",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the broker cleanly; does nothing if it is not running."""
    settings = get_settings(ctx)
    with reported_errors():
        stopped = local_broker(settings).stop()
    console.print("broker stopped" if stopped else "broker was not running")


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Say whether the broker runs, where, and with which data directory. Exit 3 when it is not running."""
    settings = get_settings(ctx)
    with reported_errors():
        state = local_broker(settings).status()
    if as_json:
        console.print_json(json.dumps(state.as_dict()))
    else:
        word = "running" if state.running else "not running"
        console.print(f"broker {word}: pid {state.pid}, bootstrap {state.bootstrap}, data {state.data_dir}")
    if not state.running:
        raise typer.Exit(3)
