"""/metrics: a real batch through real worker processes (multiprocess files added up), then
scraped and parsed; who may scrape."""

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.support.helpers import configure, wait_for
from tests.support.recordings import name, write_calls, write_wav
from webapp.batch import discovery, status
from webapp.batch import folder_config as folders
from webapp.extensions import db
from webapp.models import FileProcessingRecord as FPR

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def finished():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(FPR).where(FPR.status.in_(status.TERMINAL)))


@pytest.mark.slow
def test_metrics_after_a_batch_through_two_worker_processes(ctx, workers, token, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    (tmp_path / "prometheus").mkdir()
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 1, "delaySeconds": 1})
    calls = tmp_path / "calls"
    calls.mkdir()
    write_calls(calls, 4)
    untranscribed = name("wav")
    write_wav(calls / untranscribed)  # no transcript beside it: fails (and, when retryable, fails again)
    folder = folders.local_folder_for(str(calls))
    assert discovery.scan(folder, trigger="test").queued == 5
    workers(2)
    wait_for(lambda: finished() == 5, timeout=120, message="5 files finished")

    samples = scrape(ctx.test_client())
    completed = value(samples, "callbatch_files", status="completed", folder_id=str(folder.id), folder=folder.name)
    assert completed == 4
    broken = db.session.execute(sa.select(FPR).where(FPR.file_name == untranscribed)).scalar_one()
    assert broken.status == status.FAILED
    assert value(samples, "callbatch_files", status="failed", folder_id=str(folder.id), folder=folder.name) == 1
    assert (
        value(samples, "callbatch_file_failures_total", code=broken.error_code, category=broken.error_category)
        == broken.retry_count + 1
    )
    assert value(samples, "callbatch_file_retries_total", code=broken.error_code) == (broken.retry_count or None)
    # Every completed file's stages, counted by whichever of the two processes ran it.
    for stage in ("download", "probe", "db"):
        assert value(samples, "callbatch_file_stage_seconds_count", stage=stage) == 4, stage
    assert value(samples, "callbatch_queue_depth", queue="files") == 0
    assert value(samples, "callbatch_scheduled_jobs", queue="files") == 0
    assert value(samples, "callbatch_workers") == 2
    ages = [v for (name, _), v in samples.items() if name == "callbatch_worker_heartbeat_age_seconds"]
    assert len(ages) == 2 and all(0 <= age < 60 for age in ages)


def test_metrics_without_a_multiprocess_dir_show_this_process(ctx, token, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    from webapp import metrics

    before = (
        value(scrape(ctx.test_client()), "callbatch_notification_deliveries_total", channel="webhook", outcome="sent")
        or 0
    )
    metrics.delivery("webhook", "sent")
    after = value(
        scrape(ctx.test_client()), "callbatch_notification_deliveries_total", channel="webhook", outcome="sent"
    )
    assert after == before + 1
    assert value(scrape(ctx.test_client()), "callbatch_queue_depth", queue="scans") == 0


def test_metrics_access_token_or_admin(app, web, token):
    anonymous = web[None]
    assert anonymous.get("/metrics").status_code == 401
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert anonymous.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert web["viewer"].get("/metrics").status_code == 403
    assert web["manager"].get("/metrics").status_code == 403
    response = web["admin"].get("/metrics")
    assert response.status_code == 200 and "callbatch_files" in response.get_data(as_text=True)


def test_metrics_token_unset_refuses_every_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    assert app.test_client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.slow
def test_model_loads_are_counted_once_per_load(ctx, token, base_model, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    from tests.support.speech import asr_config
    from webapp.analysis.transcribers.faster_whisper import FasterWhisperTranscriber

    def loads():
        return value(scrape(ctx.test_client()), "callbatch_model_loads_total", engine="faster_whisper") or 0

    before = loads()
    transcriber = FasterWhisperTranscriber(asr_config(base_model, cpu_threads=1))  # a model of its own
    transcriber.model()
    transcriber.model()  # kept: no second load
    assert loads() == before + 1
