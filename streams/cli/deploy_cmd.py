"""`memlane deploy render [--check] [--from-env] [--out DIR]`: the ops files from the catalogue and settings.

Without `--from-env` it renders the committed files (the reference settings, reproducible: what `make infra`
writes); with it, the settings of this environment (`MEMLANE_*`: your topic names, partitions, groups), for
a cluster of your own. `--check` writes nothing and exits 1 when a file differs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from streams.cli.context import err_console, get_settings

app = typer.Typer(help="Deployment files: Prometheus, Grafana, Kubernetes.", no_args_is_help=True)


@app.command("render")
def render(
    ctx: typer.Context,
    out: Path = typer.Option(Path(), "--out", help="Repository root the infra/ files go under."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if a file is stale."),
    from_env: bool = typer.Option(False, "--from-env", help="Render this environment's settings, not the reference."),
) -> None:
    """Write infra/prometheus, infra/grafana and infra/k8s (or check them)."""
    from streams.deploy.render import artefacts, stale, write  # the ops extra: only this command needs it

    files = artefacts(get_settings(ctx) if from_env else None)
    if check:
        differing = stale(out, files)
        for path in differing:
            err_console.print(f"stale: {path}")
        raise typer.Exit(1 if differing else 0)
    for path in write(out, files):
        err_console.print(f"wrote {path}")


__all__ = ["app"]
