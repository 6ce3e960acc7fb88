"""A folder's redaction setting: the folder form, the API and the configuration document."""

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import ExternalFolder
from webapp.services import config_document


def test_the_folder_form_turns_redaction_on_and_off(web, tmp_path):
    admin = web["admin"]
    assert 'name="analysis_redact"' in admin.get("/folders/new").get_data(as_text=True)
    fields = {
        "name": "Private",
        "storage_type": "local",
        "cfg.path": str(tmp_path),
        "monitor_type": "polling",
        "enabled": "on",
    }
    assert admin.post("/folders/new", data={**fields, "analysis_redact": "on"}).status_code == 302
    folder = db.session.scalar(sa.select(ExternalFolder).where(ExternalFolder.name == "Private"))
    assert folder.analysis_config == {"redact": True}
    edit = admin.get(f"/folders/{folder.id}/edit").get_data(as_text=True)
    assert 'name="analysis_redact" checked' in edit
    assert admin.post(f"/folders/{folder.id}/edit", data=fields).status_code == 302
    db.session.refresh(folder)
    assert not folder.analysis_config.get("redact")


def test_the_api_and_the_configuration_document_carry_redaction(api, ctx, tmp_path):
    base = {"name": "Private", "storage_type": "local", "storage_config": {"path": str(tmp_path)}}
    assert (
        api.post("admin", "/api/batch/folders", json={**base, "analysis_config": {"redact": "yes"}}).status_code == 422
    )
    made = api.post("admin", "/api/batch/folders", json={**base, "analysis_config": {"redact": True}})
    assert made.status_code == 201, made.get_json()
    folder = db.session.get(ExternalFolder, made.get_json()["id"])
    assert folder.analysis_config == {"redact": True}

    document = config_document.export()
    [entry] = document["folders"]
    assert entry["processing"]["redact"] is True
    folder.analysis_config = {}
    db.session.commit()
    report = config_document.import_document(document, actor="test")
    assert report["applied"], report
    db.session.expire_all()
    assert db.session.get(ExternalFolder, folder.id).analysis_config == {"redact": True}
