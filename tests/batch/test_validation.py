"""Every skip code from real files made here; the batch carries on past each of them."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.env import ROOT
from tests.support.helpers import configure
from tests.support.recordings import name, write_call, write_wav

MB = 1024 * 1024


@pytest.fixture
def garbage():
    """A folder with one good call and one bad file of every kind."""
    tmp_path = Path(tempfile.mkdtemp(prefix="callbatch-garbage-"))
    root = tmp_path / "calls"
    root.mkdir()
    files = {"good": write_call(root)}
    files["zero"] = name("mp3")
    (root / files["zero"]).write_bytes(b"")
    files["truncated"] = name("wav")
    write_wav(root / files["truncated"], seconds=1.0)
    data = (root / files["truncated"]).read_bytes()
    (root / files["truncated"]).write_bytes(data[:30])  # cut inside the header
    files["text_as_mp3"] = name("mp3")
    (root / files["text_as_mp3"]).write_text("this is a shopping list, not a recording\n" * 50)
    files["wrong_ext"] = name("flac")
    write_wav(root / files["wrong_ext"])
    files["not_uuid"] = "call-from-monday.wav"
    write_wav(root / files["not_uuid"])
    files["oversized"] = name("wav")
    with open(root / files["oversized"], "wb") as f:  # sparse: 3 MB on paper, nothing on disk
        f.truncate(3 * MB)
    files["unreadable"] = name("wav")
    write_wav(root / files["unreadable"])
    os.chmod(root / files["unreadable"], 0o000)
    outside = tmp_path / "outside"
    outside.mkdir()
    write_wav(outside / "secret.wav")
    files["symlink_out"] = name("wav")
    os.symlink(outside / "secret.wav", root / files["symlink_out"])
    yield root, files
    shutil.rmtree(tmp_path)


def run_unprivileged(args, env):
    """Run a flask command without root's power to read any file, when the tests run as root."""
    caps = "-dac_override,-dac_read_search"
    prefix = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"] if os.geteuid() == 0 else []
    return subprocess.run(
        prefix + [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_every_bad_file_gets_its_code_and_the_batch_carries_on(ctx, service_env, garbage):
    root, files = garbage
    configure(scanning={"fileSettleSeconds": 0, "maxFileSize": 1 * MB})
    env = {**os.environ, **service_env, "CALLBATCH_LOCAL_ROOTS": str(root)}
    result = run_unprivileged(["batch", "run", str(root), "--json"], env)
    assert result.stdout.startswith("{"), result.stderr[-3000:]
    report = json.loads(result.stdout)
    by_name = {f["file_name"]: f for f in report["files"]}
    expected = {
        "good": ("completed", None),
        "zero": ("skipped", "CORRUPTED_FILE"),
        "truncated": ("skipped", "CORRUPTED_FILE"),
        "text_as_mp3": ("skipped", "CORRUPTED_FILE"),
        "wrong_ext": ("skipped", "INVALID_FORMAT"),
        "not_uuid": ("skipped", "INVALID_FILENAME"),
        "oversized": ("skipped", "FILE_TOO_LARGE"),
        "symlink_out": ("skipped", "ACCESS_DENIED"),
        "unreadable": ("skipped", "ACCESS_DENIED"),
    }
    for key, (status, code) in expected.items():
        entry = by_name[files[key]]
        assert (entry["status"], entry["error_code"]) == (status, code), entry
        if code:
            assert len(entry["error_message"]) > 15
    assert by_name[files["good"]]["sales_call_id"]
    assert report["totals"]["completed"] == 1
    assert result.returncode == 0, result.stderr
    _messages_are_plain_and_details_keep_the_cause(report, root, files)


TECHNICAL = re.compile(r"errno|\[Err|/tmp/|callbatch-|\b[A-Za-z]*(Error|Exception)\b|Traceback", re.IGNORECASE)


def _messages_are_plain_and_details_keep_the_cause(report, root, files):
    """A manager reads a sentence: no errno, no temporary path, no exception class name
    (the folder's own path may be named); the file's technical details keep the cause."""
    import sqlalchemy as sa

    from webapp.extensions import db
    from webapp.models import FileEvent, FileProcessingRecord

    for entry in report["files"]:
        if entry["error_message"]:
            assert not TECHNICAL.search(entry["error_message"].replace(str(root), "<folder>")), entry
    for key in ("truncated", "text_as_mp3"):
        details = db.session.scalar(
            sa.select(FileEvent.details)
            .join(FileProcessingRecord, FileEvent.file_id == FileProcessingRecord.id)
            .where(FileProcessingRecord.file_name == files[key], FileEvent.to_status == "skipped")
        )
        assert details["code"] == "CORRUPTED_FILE" and "Error" in details["error"], details
    truncated = db.session.scalar(
        sa.select(FileProcessingRecord.error_message).where(FileProcessingRecord.file_name == files["truncated"])
    )
    assert truncated.startswith("The "), truncated
