"""`flask notifications ...`: list channels, send a test, read the delivery history."""

import click
from flask.cli import AppGroup
from tabulate import tabulate

from ..services import notifications as service

notifications = AppGroup("notifications", help="Notification channels and their delivery history.")


@notifications.command("list")
def list_command():
    """Every notification config, secrets masked."""
    rows = [
        [
            c["id"],
            c["name"],
            c["type"],
            "yes" if c["enabled"] else "no",
            ", ".join(c["conditions"]),
            (c["last_delivery"] or {}).get("status", ""),
        ]
        for c in service.list_configs()
    ]
    click.echo(
        tabulate(rows, headers=["id", "name", "channel", "enabled", "conditions", "last"])
        if rows
        else "No notifications configured."
    )


@notifications.command("test")
@click.argument("config_id", type=int)
@click.option("--queue", "queued", is_flag=True, help="Let a worker send it instead of sending it from here.")
def test_command(config_id, queued):
    """Send a test message through notification CONFIG_ID. Exit status 1 when it failed."""
    config = service.get_config(config_id)
    if config is None:
        raise click.ClickException(f"There is no notification {config_id}.")
    delivery = service.send_test(config, wait=not queued, actor="cli")
    if queued:
        click.echo(f"Test queued (delivery {delivery.id}); see `flask notifications history {config_id}`.")
    elif delivery.status == "sent":
        click.echo(f"Sent to {config.name} ({config.type}).")
    else:
        raise click.ClickException(f"Not delivered: {delivery.error}")


@notifications.command("history")
@click.argument("config_id", type=int)
@click.option("--limit", default=30, show_default=True)
def history_command(config_id, limit):
    """The latest delivery attempts of notification CONFIG_ID."""
    rows = [
        [
            d["id"],
            d["created_at"][:19],
            d["condition"],
            d["kind"],
            d["status"],
            d["attempt"],
            d["event_count"],
            d["summary"][:60],
            (d["error"] or "")[:60],
        ]
        for d in service.history(config_id, limit=limit)
    ]
    click.echo(
        tabulate(rows, headers=["id", "time", "condition", "kind", "status", "try", "events", "summary", "error"])
        if rows
        else "No deliveries yet."
    )
