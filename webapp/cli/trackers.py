"""`flask trackers list|recount`: the phrase trackers and their counts in every call."""

import click
from flask.cli import AppGroup

from ..services import trackers as service

trackers = AppGroup("trackers", help="Phrase trackers counted in every call.")


@trackers.command("list")
def list_command():
    """Each tracker with its phrases."""
    for tracker in service.list_trackers():
        click.echo(f"{tracker.id}\t{tracker.name}\t{', '.join(tracker.phrases or [])}")


@trackers.command("recount")
@click.option("--tracker", "tracker_ids", type=int, multiple=True, help="Only this tracker (repeatable).")
def recount_command(tracker_ids):
    """Count the trackers again in every filed call (after changing a tracker's phrases)."""
    done = service.recount(list(tracker_ids) or None)
    click.echo(f"Counted the trackers in {done} call(s).")
