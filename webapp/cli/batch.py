"""`flask batch ...`: run, scan, retry and recount from the command line."""

import json
import os
import sys
import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from tabulate import tabulate
from tqdm import tqdm

from .. import file_counts as counts
from ..batch import actions, discovery, folder_config
from ..batch.status import COMPLETED, DISCOVERED, FAILED, PROCESSING, QUEUED, RETRYING, SKIPPED
from ..errors import CallbatchError
from ..extensions import db
from ..models import BatchJob, ExternalFolder, FileProcessingRecord, SalesCall
from ..models import job as job_status
from ..models.types import utcnow
from ..worker import EmbeddedRuntime

batch = AppGroup("batch", help="Scan folders and process recordings.")

TOTALS = (DISCOVERED, QUEUED, COMPLETED, FAILED, SKIPPED)
WAITING = (DISCOVERED, QUEUED, PROCESSING, RETRYING)


@batch.command("run")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    help="Worker threads in this process (0: rely on running `flask worker` processes).",
)
def run(path, as_json, workers):
    """Register PATH as a folder (if new), scan it and process every new recording.

    Exit status: 0 when every file ended completed or skipped, 1 when any failed,
    2 for a path that is not a readable directory or may not be watched."""
    if not os.path.isdir(path) or not os.access(path, os.R_OK | os.X_OK):
        click.echo(f"Error: {path} is not a readable directory.", err=True)
        sys.exit(2)
    app = current_app._get_current_object()
    if app.config["EMBEDDED"] and not workers:
        raise click.UsageError("The embedded default has no separate workers; use --workers 1 or more.")
    runtime = None
    if workers:
        runtime = EmbeddedRuntime(app, workers=workers).start()
    try:
        folder = folder_config.local_folder_for(path)
    except ValueError as err:  # a directory Callbatch may not watch (see CALLBATCH_LOCAL_ROOTS)
        if runtime:
            runtime.stop()
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    try:
        job_ids = _scan_until_settled(folder)
        for job_id in job_ids:
            job = db.session.get(BatchJob, job_id)
            if job.status == job_status.PENDING:
                discovery.start_job(job)
        _wait(job_ids, quiet=as_json)
    finally:
        if runtime:
            runtime.stop()
    records = _records(job_ids)
    _report(folder, job_ids, records, as_json)
    sys.exit(1 if any(r.status == FAILED for r, _ in records) else 0)


def _scan_until_settled(folder):
    """Scan, and scan again while files are still being written (up to the settle time).
    Returns the jobs opened for the folder meanwhile, including any by a scheduled scan
    that ran at the same time."""
    started = utcnow()
    deadline = time.monotonic() + 120
    while True:
        try:
            result = discovery.scan(folder, trigger="cli")
        except CallbatchError as err:
            raise click.ClickException(err.message) from err
        if not result.still_writing and not result.busy or time.monotonic() > deadline:
            break
        time.sleep(1)
    return list(
        db.session.scalars(
            sa.select(BatchJob.id)
            .where(BatchJob.folder_id == folder.id, BatchJob.created_at >= started)
            .order_by(BatchJob.id)
        )
    )


def _wait(job_ids, quiet):
    total = sum(db.session.get(BatchJob, j).total_files for j in job_ids)
    bar = tqdm(total=total, unit="file", file=sys.stderr, disable=quiet or not total)
    while True:
        jobs = [db.session.get(BatchJob, j, populate_existing=True) for j in job_ids]
        bar.update(sum(j.finished_files for j in jobs) - bar.n)
        if all(j.status not in job_status.ACTIVE_STATUSES for j in jobs):
            break
        if not bar.disable:
            bar.set_postfix_str(_waiting_for(job_ids), refresh=True)
        db.session.rollback()  # end the read transaction so the next look sees new commits
        time.sleep(0.3)
    bar.set_postfix_str("")
    bar.close()


def _waiting_for(job_ids):
    """What the run waits for, for its progress bar: "2 processing, 1 retry due in 25 s"."""
    FPR = FileProcessingRecord
    counts = dict(
        db.session.execute(
            sa.select(FPR.status, sa.func.count())
            .where(FPR.job_id.in_(job_ids), FPR.status.in_(WAITING))
            .group_by(FPR.status)
        ).all()
    )
    parts = [f"{counts[s]} {s}" for s in (PROCESSING, QUEUED, DISCOVERED) if counts.get(s)]
    if counts.get(RETRYING):
        due = db.session.scalar(
            sa.select(sa.func.min(FPR.next_retry_at)).where(FPR.job_id.in_(job_ids), FPR.status == RETRYING)
        )
        seconds = max(0, round((due - utcnow()).total_seconds())) if due else 0
        retries = f"{counts[RETRYING]} retr{'y' if counts[RETRYING] == 1 else 'ies'}"
        parts.append(f"{retries} due in {seconds} s" if seconds else f"{retries} due now")
    return ", ".join(parts)


def _records(job_ids):
    FPR = FileProcessingRecord
    return db.session.execute(
        sa.select(FPR, SalesCall)
        .outerjoin(SalesCall, SalesCall.file_id == FPR.id)
        .where(FPR.job_id.in_(job_ids))
        .order_by(FPR.file_name)
    ).all()


def _report(folder, job_ids, records, as_json):
    totals = {status: 0 for status in TOTALS}
    for record, _ in records:
        if record.status in totals:
            totals[record.status] += 1
    if as_json:
        files = [_file_view(record, call) for record, call in records]
        job_id = job_ids[0] if job_ids else None
        click.echo(
            json.dumps({"folder_id": folder.id, "job_id": job_id, "totals": totals, "files": files}, ensure_ascii=False)
        )
        return
    if not records:
        click.echo(f"Nothing new in {folder.name}.")
        return
    click.echo(
        tabulate(
            [_table_row(record, call) for record, call in records],
            headers=["file", "status", "score", "passed", "transcript", "code", "why", "call"],
            maxcolwidths=[None] * 6 + [60, None],
        )
    )
    click.echo("\n" + "  ".join(f"{k}: {v}" for k, v in totals.items()))


def _file_view(record, call):
    return {
        "file_name": record.file_name,
        "status": record.status,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "sales_call_id": call.id if call else None,
        "overall_score": call.overall_score if call else None,
        "quality": call.quality if call else None,
    }


def _table_row(record, call):
    return [
        record.file_name,
        record.status,
        _score(call),
        _passed(call),
        _transcript_by(call),
        record.error_code or "",
        record.error_message or "",
        call.id if call else "",
    ]


def _score(call):
    if call is None:
        return ""
    if call.quality == "needs_review":
        return "needs review"
    return "withheld" if call.overall_score is None else f"{call.overall_score:g}"


def _transcript_by(call):
    """Where the transcript came from: delivered beside the recording, or which speech model."""
    if call is None:
        return ""
    return "delivered" if call.engine == "sidecar" else (call.model or call.engine)


def _passed(call):
    """Criteria passed of those that applied, e.g. "3/6"."""
    criteria = [c for c in ((call.scores or {}).get("criteria") or []) if c.get("applicable", True)] if call else []
    return f"{sum(1 for c in criteria if c.get('passed'))}/{len(criteria)}" if criteria else ""


@batch.command("scan")
@click.argument("folder_id", type=int)
def scan(folder_id):
    """Scan a registered folder now and queue what it finds for the workers."""
    folder = db.session.get(ExternalFolder, folder_id)
    if folder is None:
        raise click.ClickException(f"There is no folder {folder_id}.")
    try:
        result = discovery.scan(folder, trigger="cli")
    except CallbatchError as err:
        raise click.ClickException(err.message) from err
    if result.busy:
        raise click.ClickException(f"{folder.name} is being scanned right now; try again shortly.")
    click.echo(
        f"{folder.name}: {result.queued} queued, {result.held} held, {result.skipped} skipped, "
        f"{result.still_writing} still being written, {result.known} already known"
        + (f" (job {result.job_id})." if result.job_id else ".")
    )


@batch.command("retry")
@click.option("--file", "file_id", type=int, help="Retry one file.")
@click.option("--job", "job_id", type=int, help="Retry every failed file of a job.")
def retry(file_id, job_id):
    """Queue failed (or skipped) files again."""
    if bool(file_id) == bool(job_id):
        raise click.UsageError("Give exactly one of --file ID or --job ID.")
    if file_id:
        record = db.session.get(FileProcessingRecord, file_id)
        if record is None:
            raise click.ClickException(f"There is no file {file_id}.")
        count = actions.retry_files([record], "cli")
        if not count:
            raise click.ClickException(
                f"File {file_id} is {record.status}; only failed, skipped or cancelled files can be retried."
            )
    else:
        job = db.session.get(BatchJob, job_id)
        if job is None:
            raise click.ClickException(f"There is no job {job_id}.")
        count = actions.retry_failed_in_job(job, "cli")
    click.echo(f"{count} file(s) queued again.")


@batch.command("recount")
@click.option("--check", is_flag=True, help="Only report wrong counters (exit code 1 if any), change nothing.")
def recount(check):
    """Compare the file counters (by folder and status) with a real count of the records and
    correct any that differ."""
    wrong = counts.recount(fix=not check, actor="cli")
    for folder_id, status, counted, real in wrong:
        click.echo(f"folder {folder_id} {status}: counted {counted}, really {real}")
    if not wrong:
        click.echo("Every file counter agrees with the records.")
    elif check:
        sys.exit(1)
    else:
        click.echo(f"{len(wrong)} counters corrected.")
