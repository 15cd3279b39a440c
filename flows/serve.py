"""`make serve`: serve the deployments of deploy/prefect.yaml from this process, no worker.

The names, schedules and concurrency come from deploy/prefect.yaml, so serving and deploying
schedule the same runs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.schedules import Cron

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "deploy" / "prefect.yaml"


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """Return the deployments declared in a prefect.yaml."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["deployments"]


def load_flow(entrypoint: str) -> Flow:
    """Import the flow an entrypoint (`flows/daily_digest.py:daily_digest`) names."""
    path, name = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def to_deployment(spec: dict[str, Any]) -> Any:
    """Build a servable deployment of one prefect.yaml entry."""
    flow = load_flow(spec["entrypoint"])
    schedules = [
        Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True))
        for s in spec.get("schedules") or []
    ]
    return flow.to_deployment(
        name=spec["name"],
        description=spec.get("description"),
        tags=spec.get("tags"),
        parameters=spec.get("parameters") or {},
        schedules=schedules,
        concurrency_limit=spec.get("concurrency_limit"),
    )


def release_deployed(specs: list[dict[str, Any]]) -> list[str]:
    """Delete the work-pool deployments (`make deploy`) named as the ones served; return them.

    Serving updates a deployment of the same name in place: it keeps the work pool and drops
    the pull steps, and every run of it then looks for the flow's code in a folder "None".
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    released = []
    with get_client(sync_client=True) as client:
        for spec in specs:
            name = f"{load_flow(spec['entrypoint']).name}/{spec['name']}"
            try:
                deployed = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if deployed.work_pool_name:
                client.delete_deployment(deployed.id)
                released.append(f"{name} (work pool {deployed.work_pool_name})")
    return released


def main() -> None:
    """Serve every deployment until interrupted."""
    specs = deployment_specs()
    for name in release_deployed(specs):
        print(f"{name} is now served from this process; `make deploy` gives it back to a worker")
    serve(*(to_deployment(spec) for spec in specs))


if __name__ == "__main__":
    main()
