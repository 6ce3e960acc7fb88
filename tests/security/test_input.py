"""No input gives a 500 on the pages: ids and page numbers past the database's range, dates
at the ends of the calendar, infinite numbers, letters for ids, deeply nested JSON, odd
provider settings, NUL bytes, and redirects to other sites. Each is answered with a 4xx and a
sentence saying what is wrong, and nothing is saved."""

import io
import json

import pytest
import sqlalchemy as sa

HUGE = "99999999999999999999"
MAX_ID = 2**31 - 1
FORM = {
    "processing.maxConcurrentFiles": "5",
    "retryPolicy.maxRetries": "3",
    "retryPolicy.delaySeconds": "30",
    "scanning.scanInterval": "300",
    "scanning.maxFileSize": "1048576",
    "scanning.allowedExtensions": "mp3 wav",
    "scanning.fileSettleSeconds": "10",
    "analysis.transcriber.type": "sidecar",
    "analysis.scorer.type": "rubric",
}


def _text(response):
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        f"/files/{HUGE}",
        f"/files/{MAX_ID + 1}",
        f"/jobs/{HUGE}",
        f"/jobs/{HUGE}/progress",
        f"/calls/{HUGE}",
        f"/calls/{HUGE}/audio",
        f"/customers/{HUGE}",
        f"/folders/{HUGE}",
        f"/folders/{HUGE}/edit",
        f"/folders/{HUGE}/preview",
        f"/notifications/{HUGE}",
        f"/notifications/{HUGE}/edit",
        "/files/0",
        "/files/" + "9" * 5000,
    ],
)
def test_ids_past_the_column_range_in_paths_are_not_found(web, path):
    assert web["admin"].get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"/files/{HUGE}/retry",
        f"/jobs/{HUGE}/start",
        f"/jobs/{HUGE}/cancel",
        f"/calls/{HUGE}/assign",
        f"/folders/{HUGE}/delete",
        f"/folders/{HUGE}/scan",
        f"/notifications/{HUGE}/delete",
        f"/users/{HUGE}",
    ],
)
def test_ids_past_the_column_range_in_form_actions_are_not_found(web, path):
    assert web["admin"].post(path, data={}).status_code == 404


@pytest.mark.parametrize(
    "path, field",
    [
        (f"/files/?page={HUGE}", "page"),
        (f"/files/?per_page={HUGE}", "per_page"),
        ("/files/?page=-1", "page"),
        (f"/files/?folder_id={HUGE}", "folder_id"),
        (f"/files/?job_id={HUGE}", "job_id"),
        (f"/files/export.csv?folder_id={HUGE}", "folder_id"),
        (f"/jobs/?page={HUGE}", "page"),
        (f"/calls/?page={HUGE}", "page"),
        (f"/calls/?job_id={HUGE}", "job_id"),
        (f"/customers/?page={HUGE}", "page"),
        (f"/audit?page={HUGE}", "page"),
        (f"/notifications/1?before_id={HUGE}", "before_id"),
        (f"/reports/?folder_id={HUGE}", "folder_id"),
        ("/files/?page=1.5", "page"),
        ("/jobs/?page=abc", "page"),
    ],
)
def test_numbers_past_their_range_in_query_strings_are_a_clear_400(web, path, field):
    response = web["admin"].get(path)
    assert response.status_code == 400
    assert f"{field} must be a whole number from 1 to" in _text(response)


@pytest.mark.parametrize(
    "query",
    [
        "date_to=9999-12-31",
        "date_from=0001-01-01",
        "date_from=9999-12-31",
        "date_to=0001-01-01&date_from=0001-01-01",
        "date_from=2024-02-30",
        "date_to=nonsense",
    ],
)
def test_dates_at_the_ends_of_the_calendar_on_reports_are_a_clear_400(web, query):
    response = web["viewer"].get(f"/reports/?{query}")
    assert response.status_code == 400
    assert "must be a date written YYYY-MM-DD, from 1970-01-01 to 2999-12-31" in _text(response)
    assert web["viewer"].get(f"/files/?{query}").status_code == 400


def test_blank_filters_are_not_given_and_good_ones_still_work(web):
    assert web["viewer"].get("/reports/?date_from=&date_to=&folder_id=").status_code == 200
    assert web["viewer"].get("/reports/?date_from=2024-01-01&date_to=2024-12-31").status_code == 200
    assert web["viewer"].get("/files/?page=&per_page=&folder_id=&job_id=&date_from=").status_code == 200
    assert web["viewer"].get("/files/?page=2&per_page=10&date_from=2024-01-01").status_code == 200


@pytest.mark.parametrize("size", ["inf", "-inf", "1e308", "nan", "1e400", "abc", "99999999999999999999999"])
def test_an_infinite_or_huge_file_size_is_a_field_error(web, tmp_path, size):
    from webapp.extensions import db
    from webapp.models import ExternalFolder

    response = web["admin"].post(
        "/folders/new",
        data={
            "name": "huge",
            "storage_type": "local",
            "cfg.path": str(tmp_path),
            "monitor_type": "polling",
            "scan_interval": "300",
            "allowed_extensions": "wav",
            "max_file_size_mb": size,
            "enabled": "on",
        },
    )
    assert response.status_code == 422
    assert "Maximum file size must be from 1 MB to 2048 MB." in _text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalFolder)) == 0


def test_letters_for_a_folder_id_are_a_clear_400(web):
    response = web["admin"].post("/folders/test", data={"folder_id": "abc", "storage_type": "local"})
    assert response.status_code == 400
    assert "folder_id must be a whole number from 1 to 2147483647." in _text(response)


def test_an_import_nested_50000_levels_deep_is_refused(web):
    deep = "[" * 50000 + "]" * 50000
    response = web["admin"].post(
        "/settings/import", data={"file": (io.BytesIO(deep.encode()), "s.json")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "The file is not JSON: it is nested too deeply." in _text(response)
    # JSON that parses but nests deeper than a settings document may: refused before it is stored
    from webapp.services import settings as service

    nested = {"type": "sidecar"}
    for _ in range(40):
        nested = {"inner": nested}
    document = service.current()
    document["analysis"]["transcriber"] = nested
    too_deep = web["admin"].post(
        "/settings/import",
        data={"file": (io.BytesIO(json.dumps(document).encode()), "s.json")},
        content_type="multipart/form-data",
    )
    assert too_deep.status_code == 422 and "nested more than 20 levels deep" in _text(too_deep)


def test_a_nul_escaped_in_imported_json_is_refused_before_the_database(web):
    from webapp.services import settings as service

    document = service.current()
    document["analysis"]["transcriber"] = {"type": "sidecar", "note": "a\u0000b"}
    response = web["admin"].post(
        "/settings/import",
        data={"file": (io.BytesIO(json.dumps(document).encode()), "s.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Contains a control character (such as a NUL byte)" in _text(response)


def _store_settings(config):
    """Settings as an older version could have saved them (straight into the row)."""
    from webapp.extensions import db
    from webapp.models import BatchSettings

    db.session.merge(BatchSettings(id=1, config=config))
    db.session.commit()


@pytest.mark.parametrize("rubric", [{"criteria": 1}, ["a"], 5, True])
def test_the_rubric_page_shows_an_odd_stored_rubric_value_as_a_problem(web, rubric):
    _store_settings({"analysis": {"scorer": {"type": "rubric", "rubric": rubric}}})
    response = web["viewer"].get("/settings/rubric")
    assert response.status_code == 200
    assert "rubric must be the path of a YAML or JSON file" in _text(response)


def _provider_fields(kind, value):
    """The settings form's fields for a provider config: its type and one field per setting."""
    fields = {f"analysis.{kind}.type": value.get("type", "")}
    fields.update({f"analysis.{kind}.cfg.{k}": str(v) for k, v in value.items() if k != "type"})
    return fields


@pytest.mark.parametrize(
    "kind, value, message, on_the_form",
    [
        (
            "transcriber",
            {"type": "nope"},
            "Unknown transcriber type &#39;nope&#39; (known: auto, faster_whisper, openai, sidecar).",
            True,
        ),
        ("transcriber", {}, "Choose a transcriber type: one of auto, faster_whisper, openai, sidecar.", True),
        ("transcriber", {"type": "faster_whisper", "beam_size": 99}, "Beam size: a whole number from 1 to 10.", True),
        ("scorer", {"type": "nope"}, "Unknown scorer type &#39;nope&#39; (known: openai, rubric).", True),
        # an object where a file path belongs cannot be typed into the form: documents only
        (
            "scorer",
            {"type": "rubric", "rubric": {"criteria": []}},
            "rubric must be the path of a YAML or JSON file",
            False,
        ),
        ("scorer", {"type": "openai", "timeout": 0}, "Timeout: seconds, from 1 to 3600.", True),
    ],
)
def test_provider_settings_are_checked_by_the_provider_on_validate_save_and_import(
    web, kind, value, message, on_the_form
):
    from webapp.services import settings as service

    admin = web["admin"]
    form = {**FORM, **_provider_fields(kind, value)}
    for url in ("/settings/", "/settings/validate") if on_the_form else ():
        response = admin.post(url, data=form)
        assert response.status_code == 422, url
        assert message in _text(response), (url, _text(response)[:3000])
    document = service.current()
    document["analysis"][kind] = value
    imported = admin.post(
        "/settings/import",
        data={"file": (io.BytesIO(json.dumps(document).encode()), "s.json")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 422 and message in _text(imported)
    assert service.current()["analysis"][kind] != value  # nothing was saved


def test_provider_settings_are_checked_on_the_api_too(app, users):
    from webapp.services import tokens as token_service

    with app.app_context():
        _token, text, _errors = token_service.create_token(users["admin"], "settings")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {text}"}
    response = client.put("/api/batch/config", headers=headers, json={"analysis": {"transcriber": {"type": "nope"}}})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert details == [
        {
            "field": "analysis.transcriber",
            "reason": "Unknown transcriber type 'nope' (known: auto, faster_whisper, openai, sidecar).",
        }
    ]
    checked = client.post(
        "/api/batch/config/validation",
        headers=headers,
        json={"analysis": {"scorer": {"type": "rubric", "rubric": ["x"]}}},
    ).get_json()
    assert not checked["valid"] and "rubric must be the path" in checked["errors"][0]["message"]


def test_a_stored_bad_provider_setting_does_not_drop_the_other_settings(web):
    from webapp.services import settings as service

    _store_settings({"analysis": {"transcriber": {"type": "gone"}}, "processing": {"maxConcurrentFiles": 9}})
    assert service.current()["processing"]["maxConcurrentFiles"] == 9
    assert service.current()["analysis"]["transcriber"] == {"type": "gone"}
    assert web["viewer"].get("/settings/").status_code == 200


@pytest.mark.parametrize("value", ["ü@x.io\x00", "a@x.io\x01", "a@x.io\x1b[31m", "a@x.io\x7f"])
def test_control_characters_in_form_fields_are_refused(web, value):
    from webapp.extensions import db
    from webapp.models import User

    response = web["admin"].post("/users", data={"email": value, "role": "viewer", "password": ""})
    assert response.status_code == 400
    assert "The field email contains a control character (such as a NUL byte)" in _text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3  # the fixture's only


def test_control_characters_in_query_strings_and_the_login_are_refused(web):
    assert web["viewer"].get("/files/?q=a%00b").status_code == 400
    assert web[None].post("/login", data={"email": "viewer@example.com\x00", "password": "x"}).status_code == 400
    assert web["admin"].post("/settings/rubric", data={"rubric": "id: x\x00"}).status_code == 400
    # tabs and line breaks are text, not controls
    assert web["admin"].post("/settings/rubric", data={"rubric": "criteria:\r\n\t- 1"}).status_code == 422


EVIL = [
    "https://evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "http://localhost.evil.example/",
]


@pytest.mark.parametrize("target", EVIL)
def test_back_and_next_fields_never_redirect_to_another_site(web, app, users, target):
    retry = web["manager"].post("/files/retry", data={"back": target})
    assert retry.status_code == 302 and retry.headers["Location"] == "/files/"
    language = web["viewer"].post("/language", data={"language": "en", "next": target})
    assert language.status_code == 302 and language.headers["Location"] == "/"

    from tests.support.web import PASSWORD, WebClient

    client = WebClient(app.test_client())
    signed_in = client.post("/login", data={"email": "viewer@example.com", "password": PASSWORD, "next": target})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"


def test_back_and_next_fields_keep_a_page_of_this_site(web):
    retry = web["manager"].post("/files/retry", data={"back": "/files/?status=failed"})
    assert retry.headers["Location"] == "/files/?status=failed"
    language = web["viewer"].post("/language", data={"language": "en", "next": "/jobs/"})
    assert language.headers["Location"] == "/jobs/"


def test_a_scan_redirects_back_only_to_a_referrer_on_this_site(web, tmp_path):
    created = web["admin"].post(
        "/folders/new",
        data={
            "name": "here",
            "storage_type": "local",
            "cfg.path": str(tmp_path),
            "monitor_type": "polling",
            "scan_interval": "300",
            "allowed_extensions": "wav",
            "max_file_size_mb": "10",
            "enabled": "on",
        },
    )
    folder_path = created.headers["Location"]
    away = web["manager"].post(f"{folder_path}/scan", headers={"Referer": "https://evil.example/folders/"})
    assert away.headers["Location"] == folder_path
    home = web["manager"].post(f"{folder_path}/scan", headers={"Referer": "http://localhost/folders/"})
    assert home.headers["Location"] == "/folders/"
