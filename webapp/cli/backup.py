"""`flask backup ...`: make, check and restore backups of the processing state."""

import json

import click
from flask.cli import AppGroup

from .. import audit_log
from ..errors import CallbatchError
from ..extensions import db
from ..services import backup as service

backup = AppGroup("backup", help="Back up and restore the processing state (every table).")


@backup.command("create")
@click.option(
    "--to", "destination", help="A directory or s3://bucket/prefix (default: the instance folder's backups/)."
)
@click.option("--portable", is_flag=True, help="JSON lines of every table even where pg_dump is available.")
def create(destination, portable):
    """Write a consistent snapshot of every table, with a manifest and checksums: pg_dump's
    custom format on PostgreSQL when a pg_dump at least the server's version is installed,
    else (or with --portable) every table's rows as JSON lines."""
    try:
        where, manifest = service.create(destination, portable=portable)
    except CallbatchError as err:
        raise click.ClickException(err.message) from err
    audit_log.record(
        "backup.create",
        target=("backup", service.backup_id(where)),
        actor="cli",
        after={"location": where, "format": manifest["format"], "tables": manifest["tables"]},
    )
    db.session.commit()
    click.echo(
        f"Backup written to {where} ({manifest['format']}, migration {manifest['revision']}, "
        f"{sum(manifest['tables'].values())} rows)."
    )


@backup.command("verify")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def verify(path, as_json):
    """Check a backup's manifest and checksums (and row counts of a portable dump)."""
    try:
        manifest = service.verify(path)
    except CallbatchError as err:
        raise click.ClickException(err.message) from err
    if as_json:
        click.echo(json.dumps(manifest))
    else:
        click.echo(
            f"{path} is intact: {manifest['format']}, migration {manifest['revision']}, made "
            f"{manifest['created_at']}, {sum(manifest['tables'].values())} rows in "
            f"{len(manifest['tables'])} tables."
        )


@backup.command("restore")
@click.argument("path")
def restore(path):
    """Restore a backup into this app's database, which must be empty. Files that were in
    flight are picked up again by the scheduler's reaper."""
    try:
        manifest = service.restore(path)
    except CallbatchError as err:
        raise click.ClickException(err.message) from err
    db.session.remove()
    audit_log.record(
        "backup.restore",
        target=("backup", service.backup_id(path)),
        actor="cli",
        after={"format": manifest["format"], "revision": manifest["revision"], "created_at": manifest["created_at"]},
    )
    db.session.commit()
    click.echo(f"Restored {sum(manifest['tables'].values())} rows from {path} (made {manifest['created_at']}).")
