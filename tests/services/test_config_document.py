"""The configuration document of the spec: export, import (validated whole, one transaction,
dry run), secrets encrypted or left out, validation of the configuration in force, the spec's
PUT endpoints, global scanning defaults for new folders and a folder's own analysis settings."""

import html
import io
import json
import os

import sqlalchemy as sa

from tests.support.env import ROOT
from tests.support.helpers import configure, run_json
from tests.support.recordings import write_call
from webapp.batch import batch_config as batch_settings
from webapp.crypto import MASK
from webapp.extensions import db
from webapp.models import AuditLog, BatchJob, ExternalFolder, NotificationConfig, SalesCall

SPEC_EXAMPLE = os.path.join(ROOT, "tests", "data", "spec_config_example.json")
SCANNING = {
    "scanInterval": 120,
    "maxFileSize": 7 * 1024 * 1024,
    "allowedExtensions": ["wav", "flac"],
    "fileSettleSeconds": 0,
}
CARD = """id: folder-card
pass_mark: 40
criteria:
  - id: greeting
    label: Greeting
    weight: 1
    parts:
      - id: hello
        points: 100
        phrases: [שלום]
"""


def _audit(action):
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)).all()


def _folders():
    db.session.expire_all()
    return db.session.scalars(sa.select(ExternalFolder).order_by(ExternalFolder.name)).all()


def _spec_example():
    with open(SPEC_EXAMPLE, encoding="utf-8") as f:
        return json.load(f)


def test_the_spec_example_imports_as_it_is_with_its_placeholders_flagged(api, cli, ctx):
    preview = cli.invoke(args=["config", "import", SPEC_EXAMPLE, "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "Would create (2):" in preview.output and "Needs real credentials" in preview.output
    assert _folders() == [] and not _audit("config.import")

    response = api.post("admin", "/api/batch/config/import", json=_spec_example())
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["applied"] and {(e["what"], e["name"]) for e in report["create"]} == {
        ("folder", "Production Calls"),
        ("notification", "Slack"),
    }
    flagged = {e["name"]: e for e in report["needs_credentials"]}
    assert flagged["Production Calls"]["fields"] == ["access_key_id", "secret_access_key"]
    assert flagged["Slack"]["fields"] == ["webhook_url"]
    assert any(n["where"] == "notifications[0].config.channel" for n in report["notes"])

    (folder,) = _folders()
    assert folder.storage_type == "s3" and not folder.enabled and folder.connection_status == "error"
    assert folder.storage_config == {"bucket": "sales-calls", "prefix": "production/", "region": "us-east-1"}
    assert "placeholders" in folder.last_error
    assert (folder.monitor_type, folder.scan_interval, folder.max_file_size) == ("polling", 300, 524288000)
    assert folder.allowed_extensions == ["mp3", "wav"]
    channel = db.session.scalars(sa.select(NotificationConfig)).one()
    assert (channel.type, channel.enabled, channel.config) == ("slack", False, {})
    assert channel.conditions == ["file_failed", "batch_completed"]
    config = batch_settings.load()
    assert config.retryPolicy.delaySeconds == 60 and config.processing.maxConcurrentFiles == 5
    for action in ("folder.create", "notification.create", "settings.import", "config.import"):
        assert _audit(action), action
    assert _audit("config.import")[0].actor == "admin@example.com"

    again = api.post("admin", "/api/batch/config/import?dry_run=1", json=_spec_example()).get_json()
    assert again["create"] == [] and {e["name"] for e in again["leave"]} >= {"Production Calls", "Slack"}


def _installation(tmp_path):
    """Two folders (one with its own analysis settings and a secret), a webhook channel with a
    secret limited to one folder, and changed global settings."""
    configure(
        processing={"maxConcurrentFiles": 3, "immediateProcessing": False},
        retryPolicy={"maxRetries": 1},
        scanning={"scanInterval": 600},
    )
    from webapp.services import folders as folder_service
    from webapp.services import notifications as notification_service

    (tmp_path / "calls").mkdir()
    local, errors = folder_service.create_folder(
        {
            "name": "Local calls",
            "storage_type": "local",
            "storage_config": {"path": str(tmp_path / "calls")},
            "monitor_type": "schedule",
            "cron_schedule": "0 2 * * *",
            "process_mode": "window",
            "window_start": "20:00",
            "window_end": "06:00",
            "allowed_extensions": ["wav"],
            "analysis_config": {"transcriber": {"type": "sidecar"}, "scorer": {"type": "rubric", **_card()}},
        }
    )
    assert not errors, errors
    _bucket, errors = folder_service.create_folder(
        {
            "name": "Bucket",
            "storage_type": "s3",
            "monitor_type": "polling",
            "storage_config": {
                "bucket": "calls-bucket",
                "region": "eu-west-1",
                "access_key_id": "AKIAREALKEY",
                "secret_access_key": "real-secret",
            },
        }
    )
    assert not errors, errors
    _channel, errors = notification_service.create_config(
        {
            "name": "Ops hook",
            "type": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook", "secret": "s3cret"},
            "conditions": ["file_failed"],
            "folder_ids": [local.id],
            "error_codes": ["TRANSCRIPTION_FAILED"],
            "cooldown_minutes": 5,
        }
    )
    assert not errors, errors


def _card():
    import yaml

    return yaml.safe_load(CARD)


def test_export_then_import_on_a_fresh_database_gives_the_same_document(app, ctx, cli, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    _installation(tmp_path)
    first = tmp_path / "first.json"
    result = cli.invoke(args=["config", "export", str(first), "--secrets", "encrypted"])
    assert result.exit_code == 0, result.output
    document = json.loads(first.read_text())
    bucket = next(f for f in document["folders"] if f["name"] == "Bucket")
    assert bucket["storage"]["config"]["secret_access_key"].startswith("enc:")
    assert "real-secret" not in first.read_text() and "s3cret" not in first.read_text()
    assert document["processing"]["retryConfig"]["maxRetries"] == 1
    hook = document["notifications"][0]
    assert hook["folders"] == [next(f["id"] for f in document["folders"] if f["name"] == "Local calls")]

    db.session.remove()
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    imported = cli.invoke(args=["config", "import", str(first)])
    assert imported.exit_code == 0, imported.output
    assert "Created (3):" in imported.output and "Changed (1):" in imported.output  # and the settings
    second = tmp_path / "second.json"
    assert cli.invoke(args=["config", "export", str(second), "--secrets", "encrypted"]).exit_code == 0
    assert json.loads(second.read_text()) == document
    assert _audit("config.import")[0].actor == "cli"


def test_secrets_left_out_are_masked_and_an_other_key_is_refused(app, ctx, api, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_TARGETS", True)
    _installation(tmp_path)
    omitted = api.get("admin", "/api/batch/config/export")
    text = omitted.get_data(as_text=True)
    assert omitted.status_code == 200 and "enc:" not in text and "real-secret" not in text
    bucket = next(f for f in omitted.get_json()["folders"] if f["name"] == "Bucket")
    assert bucket["storage"]["config"]["secret_access_key"] == MASK
    assert api.get("manager", "/api/batch/config/export").status_code == 403

    # Masked secrets on the same installation keep the stored ones: nothing to change.
    same = api.post("admin", "/api/batch/config/import?dry_run=1", json=omitted.get_json()).get_json()
    assert same["change"] == [] and same["needs_credentials"] == []

    encrypted = api.get("admin", "/api/batch/config/export?secrets=encrypted").get_json()
    monkeypatch.setitem(app.config, "ENCRYPTION_KEY", "another installation's key")
    refused = api.post("admin", "/api/batch/config/import", json=encrypted)
    assert refused.status_code == 422
    fields = {d["field"]: d["reason"] for d in refused.get_json()["error"]["details"]}
    where = f"folders[{[f['name'] for f in encrypted['folders']].index('Bucket')}].storage.config.secret_access_key"
    assert "another installation's key" in fields[where]
    assert "notifications[0].config.secret" in fields


def test_an_invalid_part_changes_nothing_and_says_where(api, ctx):
    before = batch_settings.load().model_dump()
    document = {
        "folders": [
            {"name": "Fine", "storage": {"type": "local", "config": {"path": "/srv/calls"}}},
            {"name": "Bad bucket", "storage": {"type": "s3", "config": {"bucket": "No_Such Bucket!"}}},
            {
                "name": "Bad speech",
                "storage": {"type": "local", "config": {"path": "/srv/other"}},
                "processing": {"transcriber": {"type": "telepathy"}},
            },
        ],
        "notifications": [{"type": "pigeon", "config": {}, "conditions": ["file_failed"], "enabled": True}],
        "processing": {"maxConcurrentFiles": 7},
    }
    response = api.post("admin", "/api/batch/config/import", json=document)
    assert response.status_code == 422
    where = {d["field"] for d in response.get_json()["error"]["details"]}
    assert {"folders[1].storage.config.bucket", "folders[2].processing.transcriber", "notifications[0].type"} <= where
    assert "nothing was changed" in response.get_json()["error"]["message"]
    assert _folders() == [] and batch_settings.load().model_dump() == before
    assert not _audit("config.import") and not _audit("folder.create")


def test_dry_run_reports_what_it_would_create_change_and_leave(api, ctx, tmp_path):
    for name, interval in (("Kept", 300), ("Changed", 300), ("Elsewhere", 300)):
        response = api.post(
            "admin",
            "/api/batch/folders",
            json={
                "name": name,
                "storage_type": "local",
                "storage_config": {"path": str(tmp_path / name)},
                "scan_interval": interval,
            },
        )
        assert response.status_code == 201, response.get_json()
    exported = api.get("admin", "/api/batch/config/export").get_json()
    document = {"folders": [f for f in exported["folders"] if f["name"] in ("Kept", "Changed")]}
    next(f for f in document["folders"] if f["name"] == "Changed")["monitor"]["config"]["scanInterval"] = 900
    document["folders"].append({"name": "New", "storage": {"type": "local", "config": {"path": str(tmp_path)}}})

    report = api.post("admin", "/api/batch/config/import?dry_run=1", json=document).get_json()
    assert report["dry_run"] and not report["applied"]
    assert [e["name"] for e in report["create"]] == ["New"]
    assert [(e["name"], e["fields"]) for e in report["change"]] == [("Changed", ["monitor.config.scanInterval"])]
    left = {e["name"]: e["reason"] for e in report["leave"] if e["what"] == "folder"}
    assert left == {"Kept": "unchanged", "Elsewhere": "not in the document"}
    assert [f.name for f in _folders()] == ["Changed", "Elsewhere", "Kept"]
    assert next(f for f in _folders() if f.name == "Changed").scan_interval == 300

    applied = api.post("admin", "/api/batch/config/import", json=document).get_json()
    assert applied["applied"]
    assert next(f for f in _folders() if f.name == "Changed").scan_interval == 900
    assert [a.before["scan_interval"] for a in _audit("folder.update")] == [300]


def test_the_spec_methods_answer_and_both_are_documented(api, ctx, tmp_path):
    folder = api.post(
        "admin",
        "/api/batch/folders",
        json={"name": "Put me", "storage_type": "local", "storage_config": {"path": str(tmp_path)}},
    ).get_json()
    put = api.put("admin", f"/api/batch/folders/{folder['id']}", json={"scan_interval": 60})
    assert put.status_code == 200 and put.get_json()["scan_interval"] == 60
    assert api.put("viewer", f"/api/batch/folders/{folder['id']}", json={"scan_interval": 90}).status_code == 403

    channel = api.post(
        "admin",
        "/api/batch/notifications",
        json={
            "name": "Mail",
            "type": "email",
            "conditions": ["file_failed"],
            "config": {"host": "127.0.0.1", "sender": "a@example.com", "recipients": "b@example.com"},
        },
    ).get_json()
    put = api.put("admin", f"/api/batch/notifications/{channel['id']}", json={"cooldown_minutes": 3})
    assert put.status_code == 200 and put.get_json()["cooldown_minutes"] == 3

    job = BatchJob(folder_id=folder["id"], status="pending")
    db.session.add(job)
    db.session.commit()
    cancelled = api.put("manager", f"/api/batch/jobs/{job.id}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["job"]["status"] == "cancelled"
    assert api.put("manager", f"/api/batch/jobs/{job.id}/cancel").status_code == 409
    assert len(_audit("folder.update")) == 1 and _audit("notification.update")

    paths = api.get("viewer", "/api/openapi.json").get_json()["paths"]
    assert {"put", "patch"} <= set(paths["/api/batch/folders/{folder_id}"])
    assert {"put", "patch"} <= set(paths["/api/batch/notifications/{config_id}"])
    assert {"put", "post"} <= set(paths["/api/batch/jobs/{job_id}/cancel"])
    assert {"get", "post"} <= set(paths["/api/batch/config/validation"])


def test_validation_of_the_configuration_in_force_says_where_each_problem_is(api, ctx, tmp_path):
    fine = api.get("manager", "/api/batch/config/validation").get_json()
    assert fine == {
        "valid": True,
        "problems": [],
        "checked": {"settings": True, "folders": 0, "notifications": 0, "connections": False},
    }
    for name, config in (("A local", {"path": str(tmp_path / "missing")}), ("B bucket", {"bucket": "calls"})):
        response = api.post(
            "admin",
            "/api/batch/folders",
            json={
                "name": name,
                "storage_type": config and ("local" if "path" in config else "s3"),
                "storage_config": config,
            },
        )
        assert response.status_code == 201, response.get_json()
    broken = db.session.scalar(sa.select(ExternalFolder).where(ExternalFolder.name == "B bucket"))
    broken.storage_config = {"bucket": "Not A Bucket"}
    db.session.add(NotificationConfig(name="Mail", type="email", config={"port": "x"}, conditions=["file_failed"]))
    db.session.commit()

    report = api.get("manager", "/api/batch/config/validation").get_json()
    assert not report["valid"]
    where = {p["where"]: p for p in report["problems"]}
    assert where["folders[1].storage.config.bucket"]["folder_id"] == broken.id
    assert "not a valid bucket name" in where["folders[1].storage.config.bucket"]["message"]
    assert "notifications[0].config.host" in where and "notifications[0].config.port" in where
    assert not any(p["where"].startswith("folders[0]") for p in report["problems"])

    with_connections = api.get("manager", "/api/batch/config/validation?connections=1").get_json()
    missing = next(p for p in with_connections["problems"] if p["where"] == "folders[0].storage")
    assert missing["code"] and missing["folder_id"] != broken.id


def _post_json(client, url, document):
    return client.post(url, data=json.dumps(document), content_type="application/json")


def test_new_folders_take_the_global_scanning_defaults_from_page_api_and_cli(web, ctx, cli, tmp_path):
    configure(scanning=SCANNING)
    expected = (120, 7 * 1024 * 1024, ["wav", "flac"])
    admin = web["admin"]
    form = admin.get("/folders/new").get_data(as_text=True)
    assert 'value="120"' in form and 'value="wav flac"' in form and 'value="7"' in form
    (tmp_path / "page").mkdir()
    created = admin.post(
        "/folders/new",
        data={
            "name": "From the page",
            "storage_type": "local",
            "cfg.path": str(tmp_path / "page"),
            "monitor_type": "polling",
            "enabled": "on",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    response = _post_json(
        admin,
        "/api/batch/folders",
        {"name": "From the API", "storage_type": "local", "storage_config": {"path": str(tmp_path / "api")}},
    )
    assert response.status_code == 201, response.get_json()
    own = _post_json(
        admin,
        "/api/batch/folders",
        {
            "name": "Own values",
            "storage_type": "local",
            "storage_config": {"path": str(tmp_path / "own")},
            "scan_interval": 45,
            "allowed_extensions": [".MP3"],
        },
    ).get_json()
    assert (own["scan_interval"], own["allowed_extensions"]) == (45, ["mp3"])
    (tmp_path / "cli").mkdir()
    result, report = run_json(cli, tmp_path / "cli", "--workers", "1")
    assert result.exit_code == 0, result.output
    for name in ("From the page", "From the API", "cli"):
        folder = next(f for f in _folders() if f.name == name)
        assert (folder.scan_interval, folder.max_file_size, folder.allowed_extensions) == expected, name
    assert [a.actor for a in _audit("folder.create")].count("cli") == 1


def test_a_folder_scores_with_its_own_speech_engine_and_scorecard(web, ctx, cli, tmp_path):
    # The global speech engine cannot work here (no API key): the folder's own one must be used.
    configure(
        scanning={"fileSettleSeconds": 0},
        retryPolicy={"maxRetries": 0},
        analysis={"transcriber": {"type": "openai", "api_key_env": "CALLBATCH_NO_SUCH_API_KEY"}},
    )
    admin = web["admin"]
    form = admin.get("/folders/new").get_data(as_text=True)
    assert 'name="analysis_transcriber"' in form and 'value="faster_whisper"' in form
    fields = {
        "name": "Own card",
        "storage_type": "local",
        "cfg.path": str(tmp_path),
        "monitor_type": "polling",
        "enabled": "on",
        "analysis_transcriber": "sidecar",
        "analysis_scorer": "rubric",
    }
    refused = admin.post("/folders/new", data={**fields, "analysis_rubric": "criteria: [nope"})
    assert refused.status_code == 422 and "Not valid YAML" in refused.get_data(as_text=True)
    refused = admin.post("/folders/new", data={**fields, "analysis_rubric": "criteria:\n  - id: x\n"})
    assert refused.status_code == 422 and "scorecard is not valid" in refused.get_data(as_text=True)
    assert admin.post("/folders/new", data={**fields, "analysis_rubric": CARD}).status_code == 302
    (folder,) = _folders()
    assert folder.analysis_config["transcriber"] == {"type": "sidecar"}
    assert folder.analysis_config["scorer"]["id"] == "folder-card"
    edit = admin.get(f"/folders/{folder.id}/edit").get_data(as_text=True)
    assert "folder-card" in edit

    write_call(tmp_path, text="שלום, מדבר דני מהחברה")
    result, report = run_json(cli, tmp_path, "--workers", "1")
    assert result.exit_code == 0, result.output
    call = db.session.scalars(sa.select(SalesCall)).one()
    assert call.scores["rubric"] == "folder-card"
    assert [c["id"] for c in call.scores["criteria"]] == ["greeting"]


def test_the_api_validates_a_folders_own_analysis_settings_by_their_providers(api, ctx, tmp_path):
    base = {"name": "Checked", "storage_type": "local", "storage_config": {"path": str(tmp_path)}}
    bad = api.post(
        "admin",
        "/api/batch/folders",
        json={
            **base,
            "analysis_config": {
                "transcriber": {"type": "faster_whisper", "device": "abacus"},
                "scorer": {"type": "rubric", "criteria": [{"id": "x"}]},
            },
        },
    )
    assert bad.status_code == 422
    reasons = {d["field"]: d["reason"] for d in bad.get_json()["error"]["details"]}
    assert "Device" in reasons["analysis_config.transcriber"]
    assert "scorecard is not valid" in reasons["analysis_config.scorer"]
    good = api.post(
        "admin",
        "/api/batch/folders",
        json={**base, "analysis_config": {"transcriber": {"type": "faster_whisper", "model": "tiny"}}},
    )
    assert good.status_code == 201 and good.get_json()["analysis_config"]["transcriber"]["model"] == "tiny"
    cleared = api.put("admin", f"/api/batch/folders/{good.get_json()['id']}", json={"analysis_config": {}})
    assert cleared.status_code == 200 and cleared.get_json()["analysis_config"] == {}


def test_settings_page_previews_and_imports_the_whole_document(web, ctx):
    admin = web["admin"]
    page = admin.get("/settings/").get_data(as_text=True)
    assert "secrets=encrypted" in page and 'name="dry_run"' in page
    with open(SPEC_EXAMPLE, "rb") as f:
        body = f.read()
    preview = admin.post(
        "/settings/import",
        data={"file": (io.BytesIO(body), "c.json"), "dry_run": "1"},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200 and "Production Calls" in preview.get_data(as_text=True)
    assert _folders() == []
    done = admin.post(
        "/settings/import", data={"file": (io.BytesIO(body), "c.json")}, content_type="multipart/form-data"
    )
    assert done.status_code == 302 and [f.name for f in _folders()] == ["Production Calls"]
    exported = json.loads(web["manager"].get("/settings/export.json").get_data())
    assert exported["folders"][0]["storage"]["config"]["bucket"] == "sales-calls"
    assert web["manager"].get("/settings/export.json?secrets=encrypted").status_code == 403


MALFORMED = [
    ([], "body"),
    ({"folder": []}, "folder"),
    ({"folders": {}}, "folders"),
    ({"folders": [5]}, "folders[0]"),
    ({"folders": [{"name": "x"}]}, "folders[0].storage"),
    ({"folders": [{"name": "x", "storage": {"type": ["s3"], "config": {}}}]}, "folders[0].storage.type"),
    (
        {"folders": [{"name": "x", "storage": {"type": "local", "config": {"path": ["/a"]}}}]},
        "folders[0].storage.config.path",
    ),
    (
        {
            "folders": [
                {
                    "name": "x",
                    "storage": {"type": "s3", "config": {"bucket": "calls", "credentials": {"accessKeyId": ["k"]}}},
                }
            ]
        },
        "folders[0].storage.config.access_key_id",
    ),
    (
        {
            "folders": [
                {
                    "name": "x",
                    "storage": {"type": "local", "config": {"path": "/a"}},
                    "monitor": {"type": {}, "config": {"cronSchedule": 5, "every": 1}},
                }
            ]
        },
        "folders[0].monitor.type",
    ),
    (
        {
            "folders": [
                {
                    "name": "x",
                    "storage": {"type": "local", "config": {"path": "/a"}},
                    "processing": {"allowedExtensions": 5, "autoStart": "yes"},
                }
            ]
        },
        "folders[0].processing.allowedExtensions",
    ),
    (
        {
            "folders": [
                {
                    "id": ["a"],
                    "name": "x",
                    "storage": {"type": "local", "config": {"path": "/a"}},
                    "processing": {"scorer": {"type": "rubric", "rubric": ["x"]}},
                }
            ]
        },
        "folders[0].processing.scorer",
    ),
    (
        {
            "notifications": [
                {"type": "email", "config": {}, "conditions": [{"a": 1}], "errorCodes": "X", "folders": [{"a": 1}]}
            ]
        },
        "notifications[0].conditions",
    ),
    (
        {
            "notifications": [
                {
                    "type": "email",
                    "conditions": ["file_failed"],
                    "folders": ["nowhere"],
                    "config": {"host": "127.0.0.1", "sender": "a@example.com", "recipients": "b@example.com"},
                }
            ]
        },
        "notifications[0].folders[0]",
    ),
    ({"processing": {"retryConfig": {"maxRetries": 99}}}, "processing.retryConfig.maxRetries"),
    ({"processing": [1]}, "processing"),
    ({"scanning": {"scanInterval": "soon"}}, "scanning.scanInterval"),
    ({"secrets": "plain"}, "secrets"),
]


def test_malformed_documents_are_refused_with_where_and_never_fail_the_server(api, ctx):
    for document, where in MALFORMED:
        response = api.post("admin", "/api/batch/config/import?dry_run=1", json=document)
        assert response.status_code == 422, (document, response.get_json())
        fields = [d["field"] for d in response.get_json()["error"]["details"]]
        assert where in fields, (document, fields)
    assert _folders() == [] and not _audit("config.import")


def test_cli_export_to_stdout_and_a_refused_import_exits_1(cli, ctx, tmp_path):
    printed = cli.invoke(args=["config", "export"])
    assert printed.exit_code == 0 and json.loads(printed.stdout)["folders"] == []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"folders": [{"name": "x", "storage": {"type": "ftp", "config": {}}}]}))
    refused = cli.invoke(args=["config", "import", str(bad)])
    assert refused.exit_code == 1
    assert "folders[0].storage.type: Storage type must be one of" in refused.output
    assert "nothing was changed" in refused.output and _folders() == []


def test_a_bad_folder_is_refused_with_the_same_messages_by_page_api_and_cli(web, ctx, cli, tmp_path):
    (tmp_path / "calls").mkdir()
    path = str(tmp_path / "calls")
    extensions = ["mp3!", "averyverylongone"]
    by_api = _post_json(
        web["admin"],
        "/api/batch/folders",
        {
            "name": "Bad",
            "storage_type": "local",
            "storage_config": {"path": path},
            "monitor_type": "events",
            "scan_interval": 5,
            "allowed_extensions": extensions,
        },
    )
    assert by_api.status_code == 422, by_api.get_json()
    messages = sorted(d["reason"] for d in by_api.get_json()["error"]["details"])
    assert len(messages) == 3 and any("mp3!" in m for m in messages) and any("Scan interval" in m for m in messages)
    document = tmp_path / "bad.json"
    document.write_text(
        json.dumps(
            {
                "folders": [
                    {
                        "name": "Bad",
                        "storage": {"type": "local", "config": {"path": path}},
                        "monitor": {"type": "events", "config": {"scanInterval": 5}},
                        "processing": {"allowedExtensions": extensions},
                    }
                ]
            }
        )
    )
    by_cli = cli.invoke(args=["config", "import", str(document)])
    assert by_cli.exit_code == 1, by_cli.output
    assert (
        sorted(line.split(": ", 1)[1] for line in by_cli.output.splitlines() if line.startswith("folders[0]"))
        == messages
    )
    by_page = web["admin"].post(
        "/folders/new",
        data={
            "name": "Bad",
            "storage_type": "local",
            "cfg.path": path,
            "monitor_type": "events",
            "scan_interval": "5",
            "allowed_extensions": " ".join(extensions),
            "enabled": "on",
        },
    )
    assert by_page.status_code == 422
    page = html.unescape(by_page.get_data(as_text=True))
    assert [m for m in messages if m not in page] == []
    assert _folders() == []
