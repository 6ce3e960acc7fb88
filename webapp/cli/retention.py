"""`flask retention purge`: clear old transcripts and file history (privacy)."""

import click
from flask.cli import AppGroup

from ..extensions import db
from ..models import ExternalFolder
from ..services import retention as service

retention = AppGroup("retention", help="Clear transcripts and file events older than N days.")


@retention.command("purge")
@click.option("--folder", "folder_id", type=int, help="Only this folder's calls and files (default: every folder).")
@click.option("--days", type=click.IntRange(min=1), required=True, help="Clear what is older than this many days.")
@click.option("--dry-run", is_flag=True, help="Only count what would be cleared.")
def purge(folder_id, days, dry_run):
    """Clear the transcripts and segments of sales calls processed more than DAYS ago (scores
    and metadata stay) and file events older than DAYS. Recordings are never deleted:
    local ones are your own files and cloud downloads are temporary."""
    if folder_id is not None and db.session.get(ExternalFolder, folder_id) is None:
        raise click.ClickException(f"There is no folder {folder_id}.")
    counts = service.purge(days, folder_id=folder_id, dry_run=dry_run, actor="cli")
    scope = f"folder {folder_id}" if folder_id is not None else "every folder"
    verb = "Would clear" if dry_run else "Cleared"
    click.echo(
        f"{verb} {counts['transcripts']} transcript(s) and {counts['events']} file event(s) older than "
        f"{days} days in {scope}. Recordings are not touched."
    )
