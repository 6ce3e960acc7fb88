"""Every page renders for each role; sign-in, sign-out, CSRF, rate limiting, roles on changes."""

import pytest

from tests.support import factories
from tests.support.web import PASSWORD, WebClient


@pytest.fixture
def data(ctx, tmp_path):
    """A folder with a job of two scored calls and a skipped file, made directly in the database."""
    from webapp.extensions import db

    folder = factories.folder(tmp_path)
    job = factories.job(folder)
    calls = [factories.call(factories.file_record(folder, job=job), overall_score=80.0) for _ in range(2)]
    skipped = factories.file_record(
        folder, "skipped", job=job, file_name="not-a-uuid.wav", error_code="INVALID_FILENAME"
    )
    db.session.commit()
    return {"folder": folder.id, "call": calls[0].id, "skipped": skipped.id, "job": job.id, "path": tmp_path}


PAGES = [
    "/",
    "/partials/status",
    "/folders/",
    "/folders/{folder}",
    "/files/",
    "/files/?status=skipped&q=uuid",
    "/files/{skipped}",
    "/jobs/",
    "/jobs/{job}",
    "/calls/",
    "/calls/{call}",
    "/customers/",
    "/settings/",
    "/settings/rubric",
    "/notifications/",
]
MANAGER_PAGES = ["/audit", "/files/export.csv", "/settings/export.json", "/folders/{folder}/preview"]
ADMIN_PAGES = ["/users", "/folders/new", "/folders/{folder}/edit", "/notifications/new"]
RANK = {"viewer": 1, "manager": 2, "admin": 3}


@pytest.mark.parametrize(
    "page, lowest",
    [(page, "viewer") for page in PAGES]
    + [(page, "manager") for page in MANAGER_PAGES]
    + [(page, "admin") for page in ADMIN_PAGES],
)
def test_every_page_renders_for_each_role_it_is_for(web, data, page, lowest):
    """200 for the roles from `lowest` up, 403 below it."""
    for role in ("admin", "manager", "viewer"):
        response = web[role].get(page.format(**data))
        expected = 200 if RANK[role] >= RANK[lowest] else 403
        assert response.status_code == expected, (role, page, response.get_data(as_text=True)[:2000])


def test_pages_need_sign_in(web, data):
    anonymous = web[None]
    for page in PAGES + ["/calls/{call}/audio"]:
        response = anonymous.get(page.format(**data))
        assert response.status_code == 302 and "/login" in response.headers["Location"], page


def test_buttons_a_role_may_not_use_are_not_shown(web, data):
    job = web["viewer"].get(f"/jobs/{data['job']}").get_data(as_text=True)
    assert "Roll back job" not in job
    assert "Roll back job" in web["manager"].get(f"/jobs/{data['job']}").get_data(as_text=True)
    folder = web["manager"].get(f"/folders/{data['folder']}").get_data(as_text=True)
    assert "Scan now" in folder and "Test connection" not in folder and ">Delete<" not in folder
    assert "Test connection" in web["admin"].get(f"/folders/{data['folder']}").get_data(as_text=True)
    assert 'href="/users"' not in web["manager"].get("/").get_data(as_text=True)
    assert 'href="/users"' in web["admin"].get("/").get_data(as_text=True)


def test_skipped_file_page_explains_the_error(web, data):
    page = web["viewer"].get(f"/files/{data['skipped']}").get_data(as_text=True)
    assert "INVALID_FILENAME" in page and "Rename the file to its call" in page
    assert "Timeline" in page and "discovered" in page


def test_sign_in_and_out(app, users):
    client = WebClient(app.test_client())
    wrong = client.post("/login", data={"email": "admin@example.com", "password": "nope"})
    assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.get_data(as_text=True)
    signed = client.post("/login", data={"email": "ADMIN@example.com", "password": PASSWORD, "next": "/jobs/"})
    assert signed.status_code == 302 and signed.headers["Location"] == "/jobs/"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    client._token = None
    assert client.get("/").status_code == 200
    out = client.post("/logout")
    assert out.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_in_refuses_outside_redirects(app, users):
    client = WebClient(app.test_client())
    response = client.post(
        "/login", data={"email": "viewer@example.com", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


def test_login_attempts_are_rate_limited(app, users):
    client = WebClient(app.test_client())
    limit = app.config["LOGIN_MAX_ATTEMPTS"]
    for _ in range(limit):
        assert client.post("/login", data={"email": "manager@example.com", "password": "bad"}).status_code == 401
    blocked = client.post("/login", data={"email": "manager@example.com", "password": PASSWORD})
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.get_data(as_text=True)
    # another account from the same address is not locked by these failures
    assert client.post("/login", data={"email": "viewer@example.com", "password": PASSWORD}).status_code == 302


def test_csrf_token_is_required(web, data):
    for role in ("admin", "manager"):
        response = web[role].post(f"/folders/{data['folder']}/scan", csrf=False)
        assert response.status_code == 400, role
    bad = web["admin"].post("/settings/reset", csrf=False, headers={"X-CSRFToken": "forged"})
    assert bad.status_code == 400
    anonymous = WebClient(web[None].client)
    assert (
        anonymous.post("/login", data={"email": "admin@example.com", "password": PASSWORD}, csrf=False).status_code
        == 400
    )


MANAGER_POSTS = [
    "/folders/{folder}/scan",
    "/jobs/{job}/cancel",
    "/jobs/{job}/retry-failed",
    "/files/{skipped}/retry",
    "/files/retry",
    "/processing/pause",
    "/processing/resume",
    "/files/retry-failed",
    "/calls/{call}/assign",
    "/jobs/{job}/rollback",
]
ADMIN_POSTS = [
    "/folders/new",
    "/folders/{folder}/edit",
    "/folders/{folder}/delete",
    "/folders/{folder}/test",
    "/settings/",
    "/settings/reset",
    "/settings/validate",
    "/settings/import",
    "/settings/rubric",
    "/users",
    "/notifications/new",
]


def test_viewer_gets_403_on_every_change(web, data):
    for url in MANAGER_POSTS + ADMIN_POSTS:
        assert web["viewer"].post(url.format(**data)).status_code == 403, url


def test_manager_gets_403_on_admin_changes(web, data):
    for url in ADMIN_POSTS:
        assert web["manager"].post(url.format(**data)).status_code == 403, url
