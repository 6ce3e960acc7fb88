"""What a manager notices on every page: a title naming the page, the favicon, empty lists that
say what to do next, confirmations that say what will happen and to how many files, statuses
shown as text with one class each, and the folder table's own live fragment."""

import html
import re

import pytest

from tests.support import factories
from tests.support.recordings import write_calls


def _page(client, url, **kwargs):
    from flask import g

    g.pop("_flask_babel", None)  # the locale is cached in the test's shared `g`; WebClient forgets the user
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _empty_cell(page):
    if 'id="folder-table"' in page:  # the dashboard: its folder table
        page = page[page.index('id="folder-table"') :]
    match = re.search(r'<td colspan="\d+" class="empty">(.*?)</td>', page, re.S)
    assert match, "no empty-state cell"
    return match.group(1)


@pytest.mark.parametrize(
    "url, next_step",
    [
        ("/", "/folders/new"),
        ("/folders/", "/folders/new"),
        ("/jobs/", "/folders/"),
        ("/files/", "/folders/"),
        ("/files/?status=failed", "/files/"),
        ("/calls/", "/files/"),
        ("/customers/", "/calls/"),
        ("/notifications/", "/notifications/new"),
    ],
)
def test_an_empty_list_says_what_to_do_next(web, url, next_step):
    cell = _empty_cell(_page(web["admin"], url))
    text = re.sub(r"<[^>]+>", "", cell).strip()
    assert len(text.split()) >= 4, text  # a sentence, not a bare "none"
    assert f'<a href="{next_step}"' in cell, cell


def test_an_empty_list_tells_a_viewer_who_adds_folders(web):
    cell = _empty_cell(_page(web["viewer"], "/folders/"))
    assert "An administrator adds the folders of recordings." in cell and "/folders/new" not in cell


@pytest.mark.parametrize("language, title", [("en", "Folders · Callbatch"), ("he", "תיקיות · Callbatch")])
def test_pages_are_titled_by_name_and_carry_the_favicon(web, users, language, title):
    from webapp.extensions import db

    users["manager"].language = language
    db.session.commit()
    page = _page(web["manager"], "/folders/")
    assert f"<title>{title}</title>" in page
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    icon = web["manager"].get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


@pytest.fixture
def batch(ctx, tmp_path):
    """A running job over a local folder: two failed files, one queued, one completed."""
    from webapp.batch import status
    from webapp.extensions import db

    write_calls(tmp_path, 1)
    folder = factories.folder(tmp_path, name="North branch")
    job = factories.job(folder, status="running")
    for n, state in enumerate([status.FAILED, status.FAILED, status.QUEUED, status.COMPLETED]):
        error_code = "TRANSCRIPTION_FAILED" if state == status.FAILED else None
        factories.file_record(folder, state, job=job, file_name=f"{n}.wav", error_code=error_code)
    db.session.commit()
    return {"folder": folder.id, "job": job.id}


def _confirms(page):
    return [html.unescape(m) for m in re.findall(r'data-confirm="([^"]*)"', page)]


def test_confirmations_say_what_happens_and_to_how_many_files(web, batch):
    client = web["admin"]
    assert "Queue all 2 failed files for processing again?" in _confirms(_page(client, "/"))
    job = _confirms(_page(client, f"/jobs/{batch['job']}"))
    assert f"Cancel job #{batch['job']}? 1 file not yet started will not be processed." in job
    assert "Queue all 2 failed files for processing again?" in job
    assert "Delete the folder 'North branch' and its 4 file records? Its calls are kept." in _confirms(
        _page(client, f"/folders/{batch['folder']}")
    )
    assert "Queue all 2 failed, skipped or cancelled files matching these filters for processing again?" in _confirms(
        _page(client, "/files/?status=failed")
    )


def test_confirmations_in_hebrew_carry_the_count(web, users, batch):
    from webapp.extensions import db

    users["admin"].language = "he"
    db.session.commit()
    confirms = " ".join(_confirms(_page(web["admin"], f"/folders/{batch['folder']}")))
    assert "North branch" in confirms and "4" in confirms and "Delete the folder" not in confirms


def test_every_status_is_shown_as_text_with_its_own_class(web, batch):
    page = _page(web["admin"], "/files/")
    badges = re.findall(r'<span class="badge ([a-z_]+)">([^<]*)</span>', page)
    assert sorted({text for _, text in badges}) == ["completed", "failed", "queued"]
    assert all(css == text for css, text in badges), badges
    css = _page(web["admin"], "/static/app.css")
    for state in ("discovered", "queued", "processing", "completed", "failed", "retrying", "skipped", "cancelled"):
        assert re.search(rf"\.badge\.{state}\b[^{{]*\{{[^}}]*background", css), state


def test_the_folder_table_is_a_fragment_that_polls_and_a_plain_link(web, batch):
    client = web["viewer"]
    fragment = _page(client, "/partials/folders", headers={"HX-Request": "true"})
    assert fragment.lstrip().startswith('<div id="folder-table"')
    assert 'hx-get="/partials/folders"' in fragment and 'hx-trigger="every 5s"' in fragment
    assert "North branch" in fragment and "<html" not in fragment
    page = _page(client, "/partials/folders")  # opened as a link: the whole dashboard
    assert "<html" in page and 'id="folder-table"' in page
