"""Structured logs: LOG_FORMAT=json in a real worker process, with the request id of the web
request that queued the scan carried into the scan job and the file jobs it queued."""

import json
import logging

import pytest
import sqlalchemy as sa

from tests.support.helpers import configure, wait_for
from tests.support.recordings import write_calls
from webapp import logging_setup
from webapp.batch import folder_config as folders
from webapp.batch import status
from webapp.extensions import db
from webapp.models import FileProcessingRecord as FPR


@pytest.mark.slow
def test_request_id_reaches_the_worker_json_logs(ctx, web, workers, service_env, tmp_path, monkeypatch):
    monkeypatch.setitem(service_env, "LOG_FORMAT", "json")  # the worker's environment
    monkeypatch.setitem(service_env, "LOG_LEVEL", "INFO")
    configure(scanning={"fileSettleSeconds": 0})
    calls = tmp_path / "calls"
    calls.mkdir()
    write_calls(calls, 2)
    folder = folders.local_folder_for(str(calls))
    workers(1)

    response = web["manager"].post(f"/folders/{folder.id}/scan", headers={"X-Request-ID": "req-7f3a-scan"})
    assert response.status_code in (200, 302), response.status_code
    assert response.headers["X-Request-ID"] == "req-7f3a-scan"

    def completed():
        db.session.rollback()
        return db.session.scalar(sa.select(sa.func.count()).select_from(FPR).where(FPR.status == status.COMPLETED))

    wait_for(lambda: completed() == 2, timeout=90, message="2 files completed")
    file_ids = set(db.session.scalars(sa.select(FPR.id)))

    def entries():
        lines = [line for line in (tmp_path / "worker-0.log").read_text().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]  # every line is one JSON object

    def ours():
        return [e for e in entries() if e.get("request_id") == "req-7f3a-scan"]

    wait_for(lambda: len([e for e in ours() if "file" in e]) >= 2, timeout=30, message="file log lines")
    for entry in entries():
        assert {"time", "level", "logger", "message"} <= set(entry)
    scan_lines = [e for e in ours() if e.get("folder") == folder.id]
    assert scan_lines and scan_lines[0]["logger"] == "workers.tasks" and "2 queued" in scan_lines[0]["message"]
    assert scan_lines[0]["rq_job"].startswith(f"scan-{folder.id}-")
    assert {e["file"] for e in ours() if "file" in e} == file_ids
    assert all(e["rq_job"].startswith("file-") for e in ours() if "file" in e)


def test_a_request_without_an_id_gets_one(app):
    response = app.test_client().get("/healthz")
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    refused = app.test_client().get("/healthz", headers={"X-Request-ID": "bad id <script>" + "x" * 200})
    assert refused.headers["X-Request-ID"] != "bad id <script>" + "x" * 200


def test_json_lines_carry_the_context_and_stay_redacted():
    formatter = logging_setup.JsonFormatter()
    token = logging_setup.bind(request_id="r-1", user="4", folder=9)
    try:
        record = logging.LogRecord(
            "webapp.x",
            logging.WARNING,
            __file__,
            1,
            "download of %s failed",
            ("https://b.example/x.wav?sig=s3cr3tSIG&se=1",),
            None,
        )
        entry = json.loads(formatter.format(record))
    finally:
        logging_setup.unbind(token)
    assert entry["request_id"] == "r-1" and entry["user"] == "4" and entry["folder"] == 9
    assert entry["level"] == "WARNING" and entry["logger"] == "webapp.x"
    assert "s3cr3tSIG" not in entry["message"] and "sig=" in entry["message"]
    assert "request_id" not in logging_setup.current()
