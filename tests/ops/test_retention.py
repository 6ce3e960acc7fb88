"""Retention: old transcripts and file events are cleared per folder, after a dry run;
scores, metadata and the recordings themselves stay."""

from datetime import timedelta

import sqlalchemy as sa

from tests.support.helpers import configure, run_json
from tests.support.recordings import write_calls
from webapp.extensions import db
from webapp.models import AuditLog, FileEvent, FileProcessingRecord, SalesCall
from webapp.models.types import utcnow

FPR = FileProcessingRecord


def processed_folder(cli, path, count):
    path.mkdir()
    names = write_calls(path, count)
    result, report = run_json(cli, path)
    assert result.exit_code == 0 and report["totals"]["completed"] == count, result.output
    return report["folder_id"], names


def age(folder_id, days):
    """Make a folder's calls and events `days` old (as if processed then)."""
    then = utcnow() - timedelta(days=days)
    files = sa.select(FPR.id).where(FPR.folder_id == folder_id)
    db.session.execute(sa.update(SalesCall).where(SalesCall.file_id.in_(files)).values(created_at=then))
    db.session.execute(sa.update(FileEvent).where(FileEvent.file_id.in_(files)).values(created_at=then))
    db.session.commit()


def calls_of(folder_id):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(SalesCall).join(FPR, FPR.id == SalesCall.file_id).where(FPR.folder_id == folder_id)
    ).all()


def events_of(folder_id):
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(FileEvent).join(FPR).where(FPR.folder_id == folder_id)
    )


def test_purge_clears_a_folders_old_transcripts_and_events_after_a_dry_run(ctx, cli, tmp_path):
    configure(scanning={"fileSettleSeconds": 0})
    old, old_names = processed_folder(cli, tmp_path / "old", 2)
    other, _ = processed_folder(cli, tmp_path / "other", 1)
    recent, _ = processed_folder(cli, tmp_path / "recent", 1)
    age(old, 40)
    age(other, 40)
    old_events, other_events, recent_events = events_of(old), events_of(other), events_of(recent)
    scores = {c.id: (c.overall_score, c.scores, c.duration_seconds, c.agent) for c in calls_of(old)}
    assert old_events and all(c.transcript and c.segments for c in calls_of(old))

    dry = cli.invoke(args=["retention", "purge", "--folder", str(old), "--days", "30", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (
        f"Would clear 2 transcript(s) and {old_events} file event(s) older than 30 days in folder {old}" in dry.output
    )
    assert all(c.transcript for c in calls_of(old)) and events_of(old) == old_events
    assert not db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "retention.purge"))

    done = cli.invoke(args=["retention", "purge", "--folder", str(old), "--days", "30"])
    assert done.exit_code == 0 and f"Cleared 2 transcript(s) and {old_events} file event(s)" in done.output
    cleared = calls_of(old)
    assert all(c.transcript == "" and c.segments == [] for c in cleared)
    assert {c.id: (c.overall_score, c.scores, c.duration_seconds, c.agent) for c in cleared} == scores
    assert events_of(old) == 0
    assert all(c.transcript for c in calls_of(other)) and events_of(other) == other_events  # another folder
    assert all((tmp_path / "old" / n).exists() for n in old_names)  # the customer's recordings stay
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "retention.purge"))
    assert entry.target_type == "folder" and entry.target_id == str(old) and entry.actor == "cli"
    assert entry.after["transcripts"] == 2 and entry.after["events"] == old_events and entry.after["days"] == 30

    everywhere = cli.invoke(args=["retention", "purge", "--days", "30"])
    assert everywhere.exit_code == 0
    assert f"Cleared 1 transcript(s) and {other_events} file event(s)" in everywhere.output
    assert "every folder" in everywhere.output
    assert all(c.transcript for c in calls_of(recent)) and events_of(recent) == recent_events  # younger than 30 days


def test_purge_refuses_an_unknown_folder_and_a_bad_day_count(ctx, cli):
    missing = cli.invoke(args=["retention", "purge", "--folder", "4242", "--days", "30"])
    assert missing.exit_code == 1 and "There is no folder 4242" in missing.output
    assert cli.invoke(args=["retention", "purge", "--days", "0"]).exit_code == 2
    assert cli.invoke(args=["retention", "purge"]).exit_code == 2
