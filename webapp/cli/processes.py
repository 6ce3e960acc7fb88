"""The long-running processes of the Procfile, and the embedded all-in-one server."""

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from ..worker import EmbeddedRuntime, SchedulerLoop, make_worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    help="Also run RQ's scheduler for delayed retries (one is enough per cluster, more is harmless).",
)
@click.option("--name", help="Worker name (default: host and process id).")
@with_appcontext
def worker_command(burst, with_scheduler, name):
    """Process files and scans from the queues."""
    app = current_app._get_current_object()
    if app.config["EMBEDDED"]:
        raise click.ClickException(
            "Set REDIS_URL and DATABASE_URL to run separate workers; "
            "the embedded default runs its worker inside `flask serve`."
        )
    make_worker(app, name=name).work(burst=burst, with_scheduler=with_scheduler)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the periodic tick (reaper, polling and cron scans) and file-event watchers. Run one."""
    SchedulerLoop(current_app._get_current_object()).run()


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=2, type=int, help="In-process worker threads (embedded default only).")
@with_appcontext
def serve_command(host, port, workers):
    """Serve the web app; on the embedded default, with its worker and scheduler inside."""
    app = current_app._get_current_object()
    if app.config["EMBEDDED"]:
        EmbeddedRuntime(app, workers=workers).start()
    click.echo(f"Callbatch is at http://{host}:{port}/", err=True)
    run_simple(host, port, app, threaded=True, use_reloader=False)
