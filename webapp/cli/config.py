"""`flask config export|import`: the whole configuration document, as a file."""

import json

import click
from flask.cli import AppGroup

from ..services import config_document

config = AppGroup("config", help="Export and import the whole configuration (folders, notifications, settings).")


@config.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@click.option(
    "--secrets",
    type=click.Choice(config_document.SECRETS_MODES),
    default="omit",
    show_default=True,
    help="omit: secrets are written masked; encrypted: the stored encrypted values, importable only "
    "where the same encryption key is set.",
)
def export_command(file, secrets):
    """Write the configuration document to FILE (default: standard output)."""
    json.dump(config_document.export(secrets=secrets), file, indent=2, ensure_ascii=False)
    file.write("\n")
    if file.name != "<stdout>":
        click.echo(f"Configuration written to {file.name} (secrets: {secrets}).", err=True)


@config.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only report what would be created, changed and left.")
def import_command(file, dry_run):
    """Read a configuration document from FILE. Everything is checked first: when any part is
    invalid nothing changes and the exit status is 1."""
    report = config_document.import_document(file.read(), dry_run=dry_run, actor="cli")
    for line in report_lines(report):
        click.echo(line)
    if not report["valid"]:
        raise click.ClickException(f"{len(report['errors'])} problem(s) in the document; nothing was changed.")


def report_lines(report):
    """The import report as lines a person reads."""
    lines = [f"{p['where']}: {p['message']}" for p in report["errors"]]
    if not report["valid"]:
        return lines
    titles = (
        ("Would create", "Would change", "Would leave as they are")
        if report["dry_run"]
        else ("Created", "Changed", "Left as they are")
    )
    for key, title in zip(("create", "change", "leave"), titles, strict=True):
        lines.append(f"{title} ({len(report[key])})" + (":" if report[key] else "."))
        for entry in report[key]:
            detail = ", ".join(entry["fields"]) if entry.get("fields") else entry.get("reason", "")
            lines.append(f"  {entry['what']} '{entry['name']}'" + (f" ({detail})" if detail else ""))
    for entry in report["needs_credentials"]:
        lines.append(f"Needs real credentials: {entry['message']}")
    for note in report["notes"]:
        lines.append(f"Note: {note['where']}: {note['message']}")
    return lines
