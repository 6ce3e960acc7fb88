"""The first-run setup guide: shown to an admin while no folder exists (never to a viewer),
steps settled by the data or skipped and resumed, the dashboard's box until it is done or
hidden; and the folder templates its first step starts from."""

import html

import sqlalchemy as sa

from tests.support.helpers import configure


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _audit(action):
    from webapp.extensions import db
    from webapp.models import AuditLog

    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)).all()


def _states(client):
    from webapp.extensions import db
    from webapp.services import setup

    db.session.expire_all()
    return {s["id"]: s["state"] for s in setup.progress()["steps"]}


def _folder(admin, path, name="Calls"):
    response = admin.post(
        "/folders/new",
        data={
            "name": name,
            "storage_type": "local",
            "cfg.path": str(path),
            "cfg.recursive": "on",
            "monitor_type": "polling",
            "scan_interval": "300",
            "allowed_extensions": "wav mp3",
            "max_file_size_mb": "100",
            "enabled": "on",
            "setup": "1",
        },
    )
    assert response.status_code == 302, _text(response)[:2000]
    return response


def test_the_guide_greets_an_admin_with_no_folder_and_never_a_viewer(web, tmp_path):
    admin = web["admin"]
    dashboard = _text(admin.get("/"))
    assert 'id="setup-box"' in dashboard and "Welcome to Callbatch" in dashboard
    assert "Start the setup guide" in dashboard and 'href="/setup/folder"' in dashboard
    for role in ("viewer", "manager"):
        assert 'id="setup-box"' not in _text(web[role].get("/"))
        assert web[role].get("/setup/").status_code == 403
        assert web[role].get("/setup/speech").status_code == 403
        assert web[role].post("/setup/folder/skip").status_code == 403
    assert web[None].get("/setup/").status_code == 302  # to the sign-in page
    guide = _text(admin.get("/setup/"))
    for label in (
        "Add a folder",
        "Choose the speech engine",
        "Add a notification channel (optional)",
        "Preview the first scan",
        "Start the first batch",
    ):
        assert label in guide
    assert admin.get("/setup/nothing").status_code == 404


def test_steps_follow_the_data_and_can_be_skipped_and_resumed(web, tmp_path):
    admin = web["admin"]
    assert set(_states(admin).values()) == {"todo"}
    skipped = admin.post("/setup/folder/skip")
    assert skipped.status_code == 302 and skipped.headers["Location"].endswith("/setup/speech")
    assert _states(admin)["folder"] == "skipped"
    box = _text(admin.get("/"))
    assert 'data-step="folder"' in box and "Resume" in box  # a skipped step is still left to set up
    resumed = admin.post("/setup/folder/resume")
    assert resumed.headers["Location"].endswith("/setup/folder") and _states(admin)["folder"] == "todo"
    assert [r.target_id for r in _audit("setup.skipped")] == ["folder"] and _audit("setup.resume")
    # the folder form, opened from the guide, comes back to it: the folder settles the step
    form = _text(admin.get("/folders/new?template=local&setup=1"))
    assert 'name="setup" value="1"' in form
    saved = _folder(admin, tmp_path)
    assert saved.headers["Location"].endswith("/setup/speech")
    assert _states(admin)["folder"] == "done"
    assert admin.post("/setup/folder/skip").status_code == 302 and _states(admin)["folder"] == "done"  # data wins
    # the speech step: saved from the guide with the provider's own check
    bad = admin.post(
        "/setup/speech",
        data={
            "analysis.transcriber.type": "faster_whisper",
            "analysis.transcriber.shown": "faster_whisper",
            "analysis.transcriber.cfg.model": "whisper-base",
            "analysis.transcriber.cfg.beam_size": "0",
        },
    )
    assert bad.status_code == 422 and "Beam size: a whole number from 1 to 10." in _text(bad)
    assert _states(admin)["speech"] == "todo"
    good = admin.post(
        "/setup/speech", data={"analysis.transcriber.type": "sidecar", "analysis.transcriber.shown": "sidecar"}
    )
    assert good.status_code == 302 and good.headers["Location"].endswith("/setup/notify")
    assert _states(admin)["speech"] == "done"
    # the optional notification step skipped: no longer "left"; preview settled by hand
    admin.post("/setup/notify/skip")
    assert admin.post("/setup/preview/done").headers["Location"].endswith("/setup/start")
    from webapp.extensions import db
    from webapp.services import setup

    db.session.expire_all()
    state = setup.progress()
    assert [s["id"] for s in state["left"]] == ["start"] and not state["settled"]
    box = _text(admin.get("/"))
    assert "Left to set up (3 of 5 done)" in box and "Continue: Start the first batch" in box


def test_the_box_goes_once_everything_is_settled_or_hidden(web, tmp_path, cli):
    from tests.support.recordings import write_calls

    admin = web["admin"]
    configure(scanning={"fileSettleSeconds": 0})
    write_calls(tmp_path, 2)
    for step in ("speech", "notify"):
        admin.post(f"/setup/{step}/skip")
    assert 'id="setup-box"' in _text(admin.get("/"))
    result = cli.invoke(args=["batch", "run", str(tmp_path), "--json"])  # a folder and a finished job
    assert result.exit_code == 0, result.output
    states = _states(admin)
    assert states["folder"] == states["preview"] == states["start"] == "done"
    assert 'id="setup-box"' in _text(admin.get("/"))  # the speech engine is still to be chosen
    admin.post("/setup/speech/resume")
    sidecar = {"analysis.transcriber.type": "sidecar", "analysis.transcriber.shown": "sidecar"}
    test = admin.post("/setup/speech/test", data=sidecar, htmx=True)
    assert "there is no speech engine to test" in _text(test)  # so the test settles nothing
    assert _states(admin)["speech"] == "todo" and 'id="setup-box"' in _text(admin.get("/"))
    assert admin.post("/setup/speech", data=sidecar).status_code == 302  # saving the choice from the guide does
    assert 'id="setup-box"' not in _text(admin.get("/"))
    assert "Everything is set up." in _text(admin.get("/setup/"))


def test_hiding_the_guide(web):
    admin = web["admin"]
    assert admin.post("/setup/dismiss").status_code == 302
    assert 'id="setup-box"' not in _text(admin.get("/"))
    assert _audit("setup.dismissed")
    assert admin.get("/setup/").status_code == 200  # still there when wanted


def test_the_start_step_polls_the_first_batch_until_it_is_done(web, tmp_path, cli):
    from tests.support.recordings import write_calls

    admin = web["admin"]
    configure(scanning={"fileSettleSeconds": 0})
    empty = _text(admin.get("/setup/start"))
    assert "There is no folder to scan yet." in empty
    write_calls(tmp_path, 2)
    assert cli.invoke(args=["batch", "run", str(tmp_path), "--json"]).exit_code == 0
    fragment = _text(admin.get("/setup/start/job", headers={"HX-Request": "true"}))
    assert 'data-active="no"' in fragment and "Your first batch is done." in fragment
    assert "2 calls scored, 0 files failed" in fragment and "hx-trigger" not in fragment
    assert admin.get("/setup/start/job").status_code == 302  # as a plain link: the step's page
    page = _text(admin.get("/setup/start"))
    assert "Start: scan" in page and 'action="/folders/' in page


def test_folder_templates_fill_the_form_and_say_what_to_set_up(web, app):
    from webapp.services import folder_templates

    admin = web["admin"]
    app.config["EVENTS_TOKEN"] = ""
    page = _text(admin.get("/folders/new"))
    for t in folder_templates.TEMPLATES:
        assert f'data-template="{t["id"]}"' in page and str(t["label"]) in page
    s3 = _text(admin.get("/folders/new?template=s3"))
    assert '<option value="s3" selected>' in s3 and 'name="cfg.region" value="us-east-1"' in s3
    assert '<option value="cloud_events" selected>' in s3 and "s3:ObjectCreated:*" in s3 and "SQS queue URL" in s3
    azure = _text(admin.get("/folders/new?template=azure"))
    assert '<option value="azure" selected>' in azure and "Event Grid" in azure
    assert "http://localhost:5000/api/batch/events/azure?token=<CALLBATCH_EVENTS_TOKEN>" in azure
    raw = admin.get("/folders/new?template=azure").get_data(as_text=True)  # placeholders shown, not parsed as tags
    assert "events/azure?token=&lt;CALLBATCH_EVENTS_TOKEN&gt;" in raw and "&lt;container&gt;" in raw
    assert "set CALLBATCH_EVENTS_TOKEN" in azure  # the receivers are off here
    gcs = _text(admin.get("/folders/new?template=gcs"))
    assert "/api/batch/events/gcs?token=<CALLBATCH_EVENTS_TOKEN>" in gcs and "OBJECT_FINALIZE" in gcs
    app.config["EVENTS_TOKEN"] = "a-long-secret-token-value"
    gcs = _text(admin.get("/folders/new?template=gcs"))
    assert "a-long-secret-token-value" not in gcs and "set CALLBATCH_EVENTS_TOKEN" not in gcs
    local = _text(admin.get("/folders/new?template=local"))
    assert '<option value="events" selected>' in local and 'name="name" value="Call recordings"' in local
    # a template's defaults pass the folder's own checks once the storage-specific values are in
    for template_id, extra in (
        ("s3", {"cfg.bucket": "calls"}),
        ("gcs", {"cfg.bucket": "calls", "cfg.anonymous": "on"}),
    ):
        data = folder_templates.get(template_id)["data"]
        form = {
            "name": data["name"],
            "storage_type": data["storage_type"],
            "monitor_type": data["monitor_type"],
            "scan_interval": str(data["scan_interval"]),
            "allowed_extensions": "wav",
            "max_file_size_mb": "100",
            **{f"cfg.{k}": str(v) for k, v in data["storage_config"].items()},
            **extra,
        }
        assert admin.post("/folders/new", data=form).status_code == 302, template_id
