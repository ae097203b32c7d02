"""Every generated ops file, rendered together: write them under the repository, or say which are stale.

infra/prometheus/prometheus.yml      scrape jobs for one host (streams.deploy.scrape)
infra/prometheus/prometheus-k8s.yml  scrape jobs by pod discovery (streams.deploy.scrape)
infra/prometheus/alerts.yml          alert and recording rules (streams.deploy.alerts)
infra/grafana/memlane.json           the dashboard (streams.deploy.dashboard)
infra/k8s/*.yaml                     the cluster manifests (streams.deploy.k8s)
"""

from __future__ import annotations

from pathlib import Path

from streams.deploy import alerts, dashboard, scrape
from streams.deploy.k8s import render as render_k8s
from streams.deploy.k8s.profile import DeployProfile, reference_settings
from streams.settings import Settings

PROMETHEUS_DIR = Path("infra/prometheus")
GRAFANA_DIR = Path("infra/grafana")
K8S_DIR = Path("infra/k8s")


def artefacts(settings: Settings | None = None, profile: DeployProfile | None = None) -> dict[Path, str]:
    """Repository-relative path -> content, from `settings` (default: the reference settings)."""
    chosen = settings or reference_settings()
    cluster = profile or DeployProfile()
    files = {
        PROMETHEUS_DIR / "prometheus.yml": scrape.render_local(),
        PROMETHEUS_DIR / "prometheus-k8s.yml": scrape.render_kubernetes(cluster.namespace),
        PROMETHEUS_DIR / scrape.RULE_FILE: alerts.render(chosen),
        GRAFANA_DIR / "memlane.json": dashboard.render(chosen),
    }
    files.update({K8S_DIR / name: text for name, text in render_k8s(chosen, cluster).items()})
    return files


def write(root: Path, files: dict[Path, str]) -> list[Path]:
    """Write `files` under `root`; the paths whose content changed."""
    changed = []
    for relative, text in files.items():
        path = root / relative
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(relative)
    return changed


def stale(root: Path, files: dict[Path, str]) -> list[Path]:
    """The paths under `root` whose content differs from `files` (or that are missing)."""
    return [rel for rel, text in files.items() if not (root / rel).is_file() or (root / rel).read_text() != text]


__all__ = ["GRAFANA_DIR", "K8S_DIR", "PROMETHEUS_DIR", "artefacts", "stale", "write"]
