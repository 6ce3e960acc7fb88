"""`flask workers`: the Workers page in a terminal."""

import json

import click
from flask.cli import with_appcontext
from tabulate import tabulate

from ..services import workers as service


@click.command("workers")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (as GET /api/batch/workers).")
@with_appcontext
def workers_command(as_json):
    """Live workers, what they process, their memory and CPU; queues, scheduler, free disk."""
    data = service.overview()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = [
        [
            w["name"],
            w["host"],
            w["pid"],
            w["state"],
            ", ".join(f"{f['file_name']} (since {f['since'][:19]})" for f in w["processing"]) or w["current_job"] or "",
            w["jobs_done"],
            _mb(w["rss_bytes"]),
            w["cpu_seconds"],
            (w["last_heartbeat"] or "")[:19],
        ]
        for w in data["workers"]
    ]
    click.echo(
        tabulate(rows, headers=["worker", "host", "pid", "state", "processing", "done", "rss MB", "cpu s", "heartbeat"])
        if rows
        else "No worker is alive."
    )
    click.echo()
    click.echo(
        tabulate(
            [[q["name"], q["depth"], q["scheduled"]] for q in data["queues"]], headers=["queue", "waiting", "delayed"]
        )
    )
    click.echo()
    disk = data["download_dir"]
    click.echo(f"files waiting for a retry: {data['scheduled_retries']}")
    click.echo(f"scheduler's last tick: {data['scheduler_last_tick'] or 'never'}")
    click.echo(f"free disk in {disk['path']}: {_mb(disk['free_bytes'])} MB of {_mb(disk['total_bytes'])} MB")


def _mb(n):
    return None if n is None else round(n / 1048576, 1)
