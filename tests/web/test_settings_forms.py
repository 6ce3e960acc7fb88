"""The Settings page's speech engine and scorer: a form per provider drawn from its declared
fields (never a JSON box), presets that fill it, the provider's own check on Validate and
Save (nothing saved when it refuses), Test speech on a sample call, and the plain-form path
without JavaScript."""

import html
import re

import pytest
import sqlalchemy as sa

from webapp.analysis import REGISTRIES

BASE = {
    "processing.maxConcurrentFiles": "5",
    "processing.autoStart": "on",
    "processing.backgroundProcessing": "on",
    "processing.immediateProcessing": "on",
    "retryPolicy.enabled": "on",
    "retryPolicy.maxRetries": "3",
    "retryPolicy.delaySeconds": "30",
    "retryPolicy.exponentialBackoff": "on",
    "scanning.scanInterval": "300",
    "scanning.maxFileSize": str(500 * 1024 * 1024),
    "scanning.allowedExtensions": "mp3 wav",
    "scanning.fileSettleSeconds": "10",
    "analysis.scorer.type": "rubric",
}


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _audit(action):
    from webapp.extensions import db
    from webapp.models import AuditLog

    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def _stored():
    from webapp.batch import batch_config as settings
    from webapp.extensions import db

    db.session.expire_all()
    return settings.load().analysis.model_dump()


def _whisper(**fields):
    form = {
        **BASE,
        "analysis.transcriber.type": "faster_whisper",
        "analysis.transcriber.shown": "faster_whisper",
        "analysis.transcriber.cfg.model": "whisper-base",
        "analysis.transcriber.cfg.device": "cpu",
        "analysis.transcriber.cfg.compute_type": "int8",
        "analysis.transcriber.cfg.beam_size": "1",
        "analysis.transcriber.cfg.batch_size": "0",
        "analysis.transcriber.cfg.temperature": "0.0",
        "analysis.transcriber.cfg.local_files_only": "on",
    }
    form.update({f"analysis.transcriber.cfg.{k}": v for k, v in fields.items()})
    return form


def test_each_provider_form_shows_its_own_fields_and_no_json_box(web):
    admin = web["admin"]
    page = _text(admin.get("/settings/"))
    assert "<textarea" not in page  # no JSON text box for any setting
    for kind, registry in REGISTRIES.items():
        for type_name, cls in registry.items():
            fragment = _text(
                admin.get(
                    f"/settings/analysis-fields?kind={kind}&analysis.{kind}.type={type_name}",
                    headers={"HX-Request": "true"},
                )
            )
            assert f'name="analysis.{kind}.shown" value="{type_name}"' in fragment
            assert f'<option value="{type_name}" selected>' in fragment
            for f in cls.fields:
                assert f'name="analysis.{kind}.cfg.{f.name}"' in fragment, (type_name, f.name)
                assert str(f.label) in fragment
    whisper = _text(
        admin.get(
            "/settings/analysis-fields?kind=transcriber&analysis.transcriber.type=faster_whisper",
            headers={"HX-Request": "true"},
        )
    )
    assert '<option value="cuda"' in whisper and '<option value="float16"' in whisper  # selects from choices
    assert 'type="checkbox" name="analysis.transcriber.cfg.vad_filter"' in whisper
    viewer = _text(web["viewer"].get("/settings/"))
    assert re.search(r'<select name="analysis.transcriber.type" disabled', viewer)
    assert "Test speech" not in viewer and "data-preset" not in viewer


def test_a_preset_fills_the_form_with_htmx_and_as_a_plain_link(web):
    admin = web["admin"]
    fragment = _text(
        admin.get("/settings/analysis-fields?kind=transcriber&preset=hebrew-gpu", headers={"HX-Request": "true"})
    )
    page = _text(admin.get("/settings/?preset=hebrew-gpu"))  # the preset's link without JavaScript
    for shown in (fragment, page):
        assert '<option value="faster_whisper" selected>' in shown
        assert 'name="analysis.transcriber.cfg.model" value="ivrit-ai/whisper-large-v3-turbo-ct2"' in shown
        assert '<option value="cuda" selected>' in shown and '<option value="float16" selected>' in shown
        assert 'name="analysis.transcriber.cfg.batch_size" value="8"' in shown
    cpu = _text(admin.get("/settings/?preset=hebrew-cpu"))
    assert '<option value="int8" selected>' in cpu and 'name="analysis.transcriber.cfg.batch_size" value="4"' in cpu
    assert re.search(r'type="checkbox" name="analysis.transcriber.cfg.vad_filter" checked', cpu)
    assert '<option value="openai" selected>' in _text(admin.get("/settings/?preset=openai"))
    sidecar = admin.get("/settings/?preset=sidecar").get_data(as_text=True)
    assert '<option value="sidecar" selected>' in sidecar and "(&lt;uuid&gt;.json or .txt)" in sidecar
    assert _stored()["transcriber"] == {"type": "auto"}  # filling the form saves nothing
    # a plain request for the fragment is sent to the page it belongs to
    plain = admin.get("/settings/analysis-fields?kind=transcriber&preset=hebrew-cpu")
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/settings/?preset=hebrew-cpu")


def test_a_bad_value_is_refused_with_the_providers_message_and_nothing_is_saved(web):
    admin = web["admin"]
    before = _stored()
    audits = len(_audit("settings.update"))
    for form, message in (
        (_whisper(beam_size="0"), "Beam size: a whole number from 1 to 10."),
        (_whisper(temperature="3"), "Temperature: a number from 0 to 1."),
        (
            {
                **BASE,
                "analysis.transcriber.type": "openai",
                "analysis.transcriber.shown": "openai",
                "analysis.transcriber.cfg.base_url": "ftp://example.test",
            },
            "Base URL: an http://",
        ),
        (
            {
                **_whisper(),
                "analysis.scorer.type": "rubric",
                "analysis.scorer.shown": "rubric",
                "analysis.scorer.cfg.pass_mark": "150",
            },
            "pass_mark must be from 0 to 100",
        ),
    ):
        checked = _text(admin.post("/settings/validate", data=form, htmx=True))
        assert message in checked, checked
        saved = admin.post("/settings/", data=form)
        assert saved.status_code == 422 and message in _text(saved)
        assert re.search('class="field-error" role="alert">[^<]*' + re.escape(message), _text(saved))  # by its fields
    assert _stored() == before
    assert len(_audit("settings.update")) == audits
    unknown = admin.post("/settings/", data={**BASE, "analysis.transcriber.type": "dictaphone"})
    assert unknown.status_code == 422 and "Unknown transcriber type 'dictaphone'" in _text(unknown)


def test_a_good_value_is_saved_audited_and_keeps_what_the_form_does_not_show(web):
    from webapp.services import settings as service

    admin = web["admin"]
    assert "are valid" in _text(admin.post("/settings/validate", data=_whisper(batch_size="4"), htmx=True))
    assert admin.post("/settings/", data=_whisper(batch_size="4", vad_filter="on")).status_code == 302
    stored = _stored()["transcriber"]
    assert stored["type"] == "faster_whisper" and stored["batch_size"] == 4 and stored["vad_filter"] is True
    assert stored["temperature"] == 0.0 and stored["local_files_only"] is True and stored["vad_filter"] is True
    assert (
        admin.post(
            "/settings/", data={k: v for k, v in _whisper().items() if not k.endswith("local_files_only")}
        ).status_code
        == 302
    )
    assert _stored()["transcriber"]["local_files_only"] is False  # an unticked box: off
    row = _audit("settings.update")[0]
    assert row.actor == "admin@example.com" and row.after["analysis"]["transcriber"]["batch_size"] == 4
    assert row.before["analysis"]["transcriber"] == {"type": "auto"}
    # an inline scorecard (from the rubric editor) survives a save of the settings form
    scorecard = service.rubric()["document"]
    assert service.save_rubric({**scorecard, "pass_mark": 55})[1] == []
    page = _text(admin.get("/settings/"))
    assert 'name="analysis.scorer.cfg.pass_mark" value="55"' in page
    form = {
        **_whisper(),
        "analysis.scorer.type": "rubric",
        "analysis.scorer.shown": "rubric",
        "analysis.scorer.cfg.pass_mark": "70",
    }
    assert admin.post("/settings/", data=form).status_code == 302
    scorer = _stored()["scorer"]
    assert scorer["pass_mark"] == 70 and len(scorer["criteria"]) == len(scorecard["criteria"])


def test_switching_the_type_without_javascript_redraws_its_fields(web):
    admin = web["admin"]
    # the noscript button sends the form by GET: the new type's fields, with its defaults
    query = {**_whisper(), "analysis.transcriber.type": "openai"}
    page = _text(admin.get("/settings/", query_string=query))
    assert '<option value="openai" selected>' in page
    assert 'name="analysis.transcriber.cfg.model" value="whisper-1"' in page  # not the old type's model
    assert 'name="analysis.transcriber.cfg.api_key_env" value="OPENAI_API_KEY"' in page
    # a plain link asking for a type keeps the rest of the settings as they are
    linked = _text(admin.get("/settings/?analysis.scorer.type=openai"))
    assert '<option value="openai" selected>' in linked
    assert 'name="analysis.scorer.cfg.model" value="gpt-4o-mini"' in linked
    assert 'name="processing.maxConcurrentFiles" value="5"' in linked and '<option value="auto" selected>' in linked
    speech_step = _text(admin.get("/setup/speech?analysis.transcriber.type=faster_whisper"))
    assert 'name="analysis.transcriber.cfg.model" value="whisper-base"' in speech_step
    assert re.search(r'name="analysis.transcriber.cfg.local_files_only" checked', speech_step)  # its default
    # and a save with fields drawn for another type takes only the type
    assert admin.post("/settings/", data=query).status_code == 302
    assert _stored()["transcriber"] == {"type": "openai"}


def test_test_speech_transcribes_a_sample_call_and_says_why_not(web):
    from webapp.services import settings as service

    admin = web["admin"]
    form = {**BASE, "analysis.transcriber.type": "sidecar", "analysis.transcriber.shown": "sidecar"}
    sidecar = _text(admin.post("/settings/test-speech", data=form, htmx=True))
    assert "Nothing to test." in sidecar and "there is no speech engine to test" in sidecar
    assert "Speech works." not in sidecar and "Speech failed" not in sidecar
    bad = _text(admin.post("/settings/test-speech", data=_whisper(beam_size="0"), htmx=True))
    assert "Speech failed" in bad and "Beam size: a whole number from 1 to 10." in bad
    missing = _text(admin.post("/settings/test-speech", data=_whisper(model="no-such-model"), htmx=True))
    assert "Speech failed" in missing and "is not installed" in missing
    # a hub model is never downloaded by Test speech: it says the model is not installed
    gpu = {
        **BASE,
        "analysis.transcriber.shown": "faster_whisper",
        **{
            f"analysis.transcriber.cfg.{k}": ("on" if v is True else str(v))
            for k, v in service.preset("hebrew-gpu")["transcriber"].items()
            if v is not False
        },
        "analysis.transcriber.type": "faster_whisper",
    }
    hub = _text(admin.post("/settings/test-speech", data=gpu, htmx=True))
    assert "'ivrit-ai/whisper-large-v3-turbo-ct2' is not installed" in hub, hub
    # nor by `auto` with no model in the models folder (a download would say it could not be downloaded)
    auto = {**BASE, "analysis.transcriber.type": "auto", "analysis.transcriber.shown": "auto"}
    unavailable = _text(admin.post("/settings/test-speech", data=auto, htmx=True))
    assert "'ivrit-ai/whisper-large-v3-turbo-ct2' is not installed" in unavailable, unavailable
    assert "downloaded" not in unavailable
    plain = admin.post("/settings/test-speech", data=form)  # without JavaScript: the page, with the result
    assert plain.status_code == 200 and "Nothing to test." in _text(plain) and "<h1>Settings</h1>" in _text(plain)
    assert web["manager"].post("/settings/test-speech", data=form, htmx=True).status_code == 403


def test_the_settings_page_lists_the_installed_models(web, app, tmp_path):
    import os

    from webapp.services import folders

    model = os.path.join(app.config["MODELS_DIR"], "my-hebrew-model")
    os.makedirs(os.path.join(model, "nested"), exist_ok=True)
    for file_name, size in (("model.bin", 2048), ("config.json", 2)):
        with open(os.path.join(model, file_name), "wb") as f:
            f.write(b"\0" * size)
    other = os.path.join(app.config["MODELS_DIR"], "not-a-model")
    os.makedirs(other, exist_ok=True)  # no model.bin: not listed
    folder, errors = folders.create_folder(
        {"name": "Sales line", "storage_type": "local", "storage_config": {"path": str(tmp_path)}}
    )
    assert not errors, errors
    try:
        page = _text(web["viewer"].get("/settings/"))
        assert "Models installed in" in page and "(1)" in page
        # the default `auto` uses the largest installed model: the global settings and the folder without its own
        assert re.search(
            r">my-hebrew-model</td><td>2.0 kB</td><td>the global settings, "
            rf'<a href="/folders/{folder.id}">Sales line</a></td>',
            page,
        ), page
    finally:
        import shutil

        shutil.rmtree(model)
        shutil.rmtree(other)


@pytest.mark.slow
def test_test_speech_with_the_offline_model_shows_its_text_and_time(web, base_model):
    form = _whisper(model=base_model, cpu_threads="2")
    answer = _text(web["admin"].post("/settings/test-speech", data=form, htmx=True))
    assert "Speech works." in answer, answer
    text = re.search(r'<blockquote dir="rtl" lang="he">(.*?)</blockquote>', answer, re.S).group(1)
    assert sum(1 for ch in text if "\u05d0" <= ch <= "\u05ea") > 10  # Hebrew came out of the model
    assert re.search(r"faster_whisper turned a [\d.]+ s sample call into text in [\d.]+ s", answer)
    from webapp.services import setup

    assert setup.step("speech")["state"] == "done"  # a Test speech that gives text settles the guide's step
