"""Deployment artefacts generated from the project's own catalogue and settings: dashboards, alert rules, scrape
configs and Kubernetes manifests (`make infra` / `python -m streams.deploy`)."""
