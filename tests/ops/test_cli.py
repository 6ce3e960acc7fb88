"""`flask batch ...` as a newcomer and an operator use it."""

import json
import os
import re

import sqlalchemy as sa

from tests.support.helpers import configure, embedded_env, run_flask, run_json
from tests.support.recordings import name, write_call, write_calls, write_wav
from webapp.extensions import db
from webapp.models import AuditLog, FileProcessingRecord, SalesCall, User


def test_embedded_default_runs_the_demo_end_to_end_without_servers(tmp_path):
    """No DATABASE_URL, no REDIS_URL: SQLite, the in-process Redis stand-in and worker."""
    env = embedded_env(tmp_path / "instance", CALLBATCH_LOCAL_ROOTS=str(tmp_path))
    made = run_flask(env, "samples", "make", str(tmp_path / "calls"), "--count", "4", timeout=60)
    assert made.returncode == 0, made.stderr[-2000:]
    run = run_flask(env, "batch", "run", str(tmp_path / "calls"), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["totals"]["completed"] == 4, (report, run.stderr[-3000:])
    assert all(f["sales_call_id"] for f in report["files"])
    assert os.path.exists(tmp_path / "instance" / "callbatch.sqlite3")

    again = run_flask(env, "batch", "run", str(tmp_path / "calls"), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["files"] == []  # nothing is processed twice


def test_batch_run_json_reports_every_file_and_exits_1_when_one_failed(ctx, cli, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    good = write_calls(tmp_path, 2)
    no_transcript = name("wav")
    write_wav(tmp_path / no_transcript)
    result, report = run_json(cli, tmp_path)
    assert result.exit_code == 1
    assert set(report) == {"folder_id", "job_id", "totals", "files"}
    assert report["totals"] == {"discovered": 0, "queued": 0, "completed": 2, "failed": 1, "skipped": 0}
    assert all(
        set(f) == {"file_name", "status", "error_code", "error_message", "sales_call_id", "overall_score", "quality"}
        for f in report["files"]
    )
    failed = next(f for f in report["files"] if f["file_name"] == no_transcript)
    assert failed["status"] == "failed" and failed["error_code"] == "TRANSCRIPTION_FAILED"
    assert "transcript" in failed["error_message"] and failed["overall_score"] is None
    assert {f["file_name"] for f in report["files"] if f["sales_call_id"]} == set(good)
    scores = dict(db.session.execute(sa.select(SalesCall.id, SalesCall.overall_score)).all())
    assert {f["sales_call_id"]: f["overall_score"] for f in report["files"] if f["sales_call_id"]} == scores
    assert all(isinstance(score, float) for score in scores.values())


def test_batch_run_refuses_a_bad_path_with_exit_2(ctx, cli, tmp_path):
    result = cli.invoke(args=["batch", "run", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "is not a readable directory" in result.output


def test_batch_run_prints_a_summary_table(ctx, cli, tmp_path):
    configure(scanning={"fileSettleSeconds": 0})
    file_name = write_call(tmp_path, text="שלום, מדברת נועה מחברת אורנים. כמה אתם משלמים היום? תודה רבה.")
    result = cli.invoke(args=["batch", "run", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert file_name in result.stdout and "completed: 1" in result.stdout
    call = db.session.scalars(sa.select(SalesCall)).one()
    passed = sum(1 for c in call.scores["criteria"] if c["applicable"] and c["passed"])
    applicable = sum(1 for c in call.scores["criteria"] if c["applicable"])
    header, _rule, row = result.stdout.splitlines()[:3]
    assert header.split()[:5] == ["file", "status", "score", "passed", "transcript"]
    assert row.split()[:5] == [file_name, "completed", f"{call.overall_score:g}", f"{passed}/{applicable}", "delivered"]
    assert passed >= 1


def test_batch_run_progress_says_what_it_waits_for(ctx, cli, tmp_path, httpserver, monkeypatch):
    """A transcription service that answers 429 once: the bar names the retry and when it is due."""
    monkeypatch.setenv("CALLBATCH_TEST_OPENAI_API_KEY", "sk-test-not-a-real-key")
    httpserver.expect_oneshot_request("/v1/audio/transcriptions").respond_with_json(
        {"error": {"message": "Rate limit reached", "type": "requests"}}, status=429
    )
    httpserver.expect_request("/v1/audio/transcriptions").respond_with_json(
        {
            "text": "שלום, תודה רבה.",
            "language": "hebrew",
            "duration": 1.0,
            "segments": [{"start": 0.0, "end": 1.0, "text": "שלום, תודה רבה."}],
        }
    )
    write_wav(tmp_path / name("wav"))
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 1, "delaySeconds": 3, "exponentialBackoff": False},
        analysis={
            "transcriber": {
                "type": "openai",
                "model": "whisper-1",
                "base_url": httpserver.url_for("/v1"),
                "api_key_env": "CALLBATCH_TEST_OPENAI_API_KEY",
                "timeout": 5,
            }
        },
    )
    result = cli.invoke(args=["batch", "run", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert re.search(r"1 retry due in [1-3] s", result.stderr), result.stderr[-2000:]
    assert "completed: 1" in result.stdout


def test_batch_retry_and_scan_commands(ctx, cli, tmp_path):
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})
    broken = name("wav")
    write_wav(tmp_path / broken)
    result, report = run_json(cli, tmp_path)
    assert report["totals"]["failed"] == 1
    record = db.session.scalar(sa.select(FileProcessingRecord))
    (tmp_path / (broken[:-4] + ".txt")).write_text("שלום\nתודה רבה\n", encoding="utf-8")  # the fix arrives

    result = cli.invoke(args=["batch", "retry", "--file", str(record.id)])
    assert result.exit_code == 0 and "1 file(s) queued again" in result.output
    result = cli.invoke(args=["batch", "retry", "--job", "999"])
    assert result.exit_code == 1 and "There is no job 999" in result.output
    result = cli.invoke(args=["batch", "retry"])
    assert result.exit_code == 2

    write_call(tmp_path)
    result = cli.invoke(args=["batch", "scan", str(report["folder_id"])])
    assert result.exit_code == 0 and "1 queued" in result.output
    assert cli.invoke(args=["batch", "scan", "424242"]).exit_code == 1


def test_users_create_leaves_an_audit_row(ctx, cli):
    result = cli.invoke(
        args=["users", "create", "--email", "dana@example.com", "--role", "manager", "--password", "a long passphrase"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "dana@example.com"))
    assert user.role == "manager" and user.password_hash and "passphrase" not in user.password_hash
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "user.create"))
    duplicate = cli.invoke(
        args=["users", "create", "--email", "dana@example.com", "--role", "viewer", "--password", "x" * 12]
    )
    assert duplicate.exit_code != 0
    bad_role = cli.invoke(args=["users", "create", "--email", "x@example.com", "--role", "owner"])
    assert bad_role.exit_code == 2


def test_health_check_answers_without_sign_in(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
