"""The counters of files by folder and status (file_status_counts, kept by database triggers)
always equal a real COUNT of the records: through scans' bulk inserts, status changes
(concurrent ones from two connections too), a folder's delete, and `flask batch recount`."""

import threading

import sqlalchemy as sa

from webapp import file_counts as counts
from webapp.batch import status
from webapp.extensions import db
from webapp.models import BatchJob, ExternalFolder, FileProcessingRecord, FileStatusCount
from webapp.models import job as job_status
from webapp.services import dashboard, files


def real_counts():
    FPR = FileProcessingRecord
    return {
        (f, s): n
        for f, s, n in db.session.execute(
            sa.select(FPR.folder_id, FPR.status, sa.func.count()).group_by(FPR.folder_id, FPR.status)
        )
    }


def counters():
    C = FileStatusCount
    return {(f, s): n for f, s, n in db.session.execute(sa.select(C.folder_id, C.status, C.files)) if n}


def make_folder(name, records=0, state=status.QUEUED):
    folder = ExternalFolder(name=name, storage_type="local", storage_config={"path": "/tmp"})
    db.session.add(folder)
    db.session.flush()
    job = BatchJob(folder_id=folder.id, status=job_status.RUNNING, total_files=records)
    db.session.add(job)
    db.session.flush()
    rows = [
        dict(folder_id=folder.id, job_id=job.id, file_path=f"{name}/{n}.wav", file_name=f"{n}.wav", status=state)
        for n in range(records)
    ]
    if rows:
        db.session.execute(sa.insert(FileProcessingRecord), rows)  # one bulk INSERT, as a scan does
    db.session.commit()
    return folder, job


def move(record_id, to):
    record = db.session.get(FileProcessingRecord, record_id, populate_existing=True)
    status.transition(record, to, "test")
    db.session.commit()


def test_counters_follow_inserts_status_changes_and_deletes(ctx):
    first, _ = make_folder("first", 30)
    second, _ = make_folder("second", 5, status.DISCOVERED)
    assert counters() == real_counts() == {(first.id, "queued"): 30, (second.id, "discovered"): 5}

    ids = db.session.scalars(
        sa.select(FileProcessingRecord.id)
        .where(FileProcessingRecord.folder_id == first.id)
        .order_by(FileProcessingRecord.id)
    ).all()
    for n, record_id in enumerate(ids[:12]):
        assert status.claim(record_id, "w1", f"rq-{n}") is not None
        move(record_id, status.COMPLETED if n % 3 else status.FAILED)
    move(ids[0], status.RETRYING)
    move(ids[12], status.CANCELLED)
    assert counters() == real_counts()
    assert counters()[(first.id, "completed")] == 8 and counters()[(first.id, "failed")] == 3

    db.session.execute(
        sa.update(FileProcessingRecord).where(FileProcessingRecord.id == ids[20]).values(folder_id=second.id)
    )  # a record moved by hand to another folder
    db.session.commit()
    assert counters() == real_counts()

    db.session.delete(db.session.get(ExternalFolder, first.id))  # the records go with it (cascade)
    db.session.commit()
    assert counters() == real_counts() == {(second.id, "discovered"): 5, (second.id, "queued"): 1}


def test_the_dashboard_the_file_list_and_the_folders_read_the_counters(ctx):
    folder, _ = make_folder("calls", 7)
    other, _ = make_folder("other", 3, status.FAILED)
    assert dashboard.status()["totals"]["queued"] == 7 and dashboard.status()["total_files"] == 10
    assert files.list_files({"status": "queued", "folder_id": folder.id}).total == 7
    assert files.list_files({"status": "failed"}).total == 3
    # a counter wrong on purpose shows where the figures come from; a real count stays the judge
    db.session.execute(sa.update(FileStatusCount).where(FileStatusCount.folder_id == other.id).values(files=4))
    db.session.commit()
    assert dashboard.status()["totals"]["failed"] == 4
    assert files.list_files({"status": "failed", "folder_id": other.id}).total == 4
    assert files.list_files({"status": "failed", "q": "wav"}).total == 3  # a filter the counters cannot answer
    assert counts.recount() == [(other.id, "failed", 4, 3)]
    assert dashboard.status()["totals"]["failed"] == 3 and counts.recount() == []


def test_a_deep_page_shows_the_same_files_in_the_same_order(ctx):
    folder, _ = make_folder("calls", 130)
    page = files.list_files({"folder_id": folder.id, "status": "queued"}, page=3, per_page=50)
    expected = db.session.scalars(
        sa.select(FileProcessingRecord.id).order_by(FileProcessingRecord.id.desc()).offset(100).limit(50)
    ).all()
    assert [r.id for r in page.items] == expected and len(expected) == 30 and page.total == 130
    assert all(r.folder.name == "calls" for r in page.items)


def test_concurrent_status_changes_from_two_connections_keep_the_counters_exact(app):
    with app.app_context():
        folder_id = make_folder("busy", 40)[0].id
        ids = db.session.scalars(sa.select(FileProcessingRecord.id).order_by(FileProcessingRecord.id)).all()
    start = threading.Barrier(2)
    errors = []

    def work(mine, worker):
        try:
            with app.app_context():
                start.wait()
                for n, record_id in enumerate(mine):
                    if status.claim(record_id, worker, f"{worker}-{n}") is None:
                        continue
                    move(record_id, [status.COMPLETED, status.FAILED, status.SKIPPED][n % 3])
                    if n % 3 == 1:
                        move(record_id, status.QUEUED)  # a person's retry
                db.session.remove()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    # both take every record in opposite orders: each is claimed once, the rest are refused
    threads = [threading.Thread(target=work, args=(ids, "w1")), threading.Thread(target=work, args=(ids[::-1], "w2"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    with app.app_context():
        real = real_counts()
        assert counters() == real
        # (a record put back in the queue may be claimed again by the other connection, so how
        # many stay queued depends on the timing; the total never does)
        assert sum(real.values()) == 40 and real[(folder_id, "completed")] > 0
        assert counts.recount(fix=False) == []


def test_a_change_from_a_stale_copy_of_a_record_is_counted_as_it_really_happened(app):
    """Two connections load the same queued record; one cancels it, then the other, not
    knowing, moves its stale copy on. The counters follow the rows, not what the code believed."""
    with app.app_context():
        make_folder("race", 1)
        record_id = db.session.scalar(sa.select(FileProcessingRecord.id))
    loaded, cancelled = threading.Event(), threading.Event()

    def stale_writer():
        with app.app_context():
            record = db.session.get(FileProcessingRecord, record_id)
            loaded.set()
            cancelled.wait(30)
            status.transition(record, status.PROCESSING, "late")
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=stale_writer)
    thread.start()
    loaded.wait(30)
    with app.app_context():
        move(record_id, status.CANCELLED)
        cancelled.set()
        thread.join(30)
        assert counters() == real_counts()
        assert sum(counters().values()) == 1


def test_flask_batch_recount_reports_and_repairs_wrong_counters(ctx, cli):
    folder, _ = make_folder("calls", 4)
    assert cli.invoke(args=["batch", "recount"]).exit_code == 0
    db.session.execute(sa.update(FileStatusCount).values(files=9))
    db.session.execute(sa.insert(FileStatusCount).values(folder_id=folder.id, status="completed", files=2))
    db.session.commit()

    checked = cli.invoke(args=["batch", "recount", "--check"])
    assert checked.exit_code == 1, checked.output
    assert f"folder {folder.id} queued: counted 9, really 4" in checked.output
    assert counters() == {(folder.id, "queued"): 9, (folder.id, "completed"): 2}

    fixed = cli.invoke(args=["batch", "recount"])
    assert fixed.exit_code == 0, fixed.output
    assert "2 counters corrected" in fixed.output
    db.session.expire_all()
    assert counters() == real_counts() == {(folder.id, "queued"): 4}
