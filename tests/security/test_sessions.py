"""Sessions end when they should: signing out, a new password, a new role, deactivation and
an admin's "End sessions" each make the cookies issued before them useless (replayed in a
fresh client, as a thief would). Sign-in takes as long for an unknown e-mail as for a wrong
password. Real sign-ins through the login form, real PostgreSQL and Redis."""

import statistics
import time

import sqlalchemy as sa

from tests.support.web import PASSWORD, WebClient, sign_in


def _replay(app, client):
    """A new browser holding only `client`'s session cookie."""
    thief = WebClient(app.test_client())
    thief.client.set_cookie("session", client.client.get_cookie("session").value)
    return thief


def _signed_in(client):
    response = client.get("/files/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _audit(action, target_id):
    from webapp.extensions import db
    from webapp.models import AuditLog

    db.session.expire_all()
    return db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == action, AuditLog.target_id == str(target_id))
    ).all()


def _save_user(admin, user, **fields):
    data = {"role": user.role, "language": user.language, "active": "on" if user.active else "", **fields}
    response = admin.post(f"/users/{user.id}", data={k: v for k, v in data.items() if v})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_signing_out_ends_the_users_other_sessions_and_the_old_cookie(app, users):
    laptop = sign_in(app, "viewer@example.com")
    phone = sign_in(app, "viewer@example.com")
    stolen = _replay(app, laptop)
    assert _signed_in(laptop) and _signed_in(phone) and _signed_in(stolen)

    assert laptop.post("/logout").status_code == 302

    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert not _signed_in(stolen)
    assert _audit("user.logout", users["viewer"].id)
    assert _signed_in(sign_in(app, "viewer@example.com"))  # signing in again works


def test_a_new_password_ends_the_users_sessions(app, web, users):
    viewer = web["viewer"]
    old = _replay(app, viewer)
    _save_user(web["admin"], users["viewer"], password="a brand new password")

    assert not _signed_in(viewer) and not _signed_in(old)
    assert _signed_in(sign_in(app, "viewer@example.com", "a brand new password"))
    row = _audit("user.update", users["viewer"].id)[-1]
    assert row.after["password"] == "changed" and row.after["sessions"] == "ended"


def test_an_admin_changing_their_own_password_stays_signed_in_here_only(app, web, users):
    admin = web["admin"]
    elsewhere = sign_in(app, "admin@example.com")
    _save_user(admin, users["admin"], password="another admin password")

    assert _signed_in(admin)
    assert not _signed_in(elsewhere)


def test_a_new_role_ends_the_users_sessions(app, web, users):
    manager = web["manager"]
    assert manager.get("/jobs/").status_code == 200
    _save_user(web["admin"], users["manager"], role="viewer")

    assert not _signed_in(manager)
    assert _signed_in(sign_in(app, "manager@example.com"))


def test_a_language_change_keeps_the_sessions(app, web, users):
    _save_user(web["admin"], users["viewer"], language="he")
    assert _signed_in(web["viewer"])


def test_disabling_ends_the_sessions_for_good_even_after_enabling_again(app, web, users):
    viewer = web["viewer"]
    old = _replay(app, viewer)
    _save_user(web["admin"], users["viewer"], active="")
    assert not _signed_in(viewer)

    _save_user(web["admin"], users["viewer"], active="on")
    assert not _signed_in(viewer) and not _signed_in(old)
    assert _signed_in(sign_in(app, "viewer@example.com"))


def test_an_admin_ends_a_users_sessions_from_the_users_page(app, web, users):
    page = web["admin"].get("/users").get_data(as_text=True)
    assert f'action="/users/{users["manager"].id}/sessions/end"' in page
    manager, other = web["manager"], sign_in(app, "manager@example.com")

    assert web["viewer"].post(f"/users/{users['manager'].id}/sessions/end").status_code == 403
    assert _signed_in(manager)
    response = web["admin"].post(f"/users/{users['manager'].id}/sessions/end")
    assert response.status_code == 302

    assert not _signed_in(manager) and not _signed_in(other)
    assert _signed_in(web["admin"]) and _signed_in(web["viewer"])
    assert _audit("user.sessions_end", users["manager"].id)
    assert web["admin"].post("/users/99999999999999999999/sessions/end").status_code == 404


def test_an_admin_ending_their_own_sessions_keeps_this_one(app, web, users):
    elsewhere = sign_in(app, "admin@example.com")
    assert web["admin"].post(f"/users/{users['admin'].id}/sessions/end").status_code == 302
    assert _signed_in(web["admin"])
    assert not _signed_in(elsewhere)


def _login_seconds(client, email, password):
    started = time.perf_counter()
    response = client.post("/login", data={"email": email, "password": password})
    elapsed = time.perf_counter() - started
    assert response.status_code == 401, response.status_code
    return elapsed


def test_sign_in_takes_as_long_for_an_unknown_email_as_for_a_wrong_password(app, users, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_ATTEMPTS", 10**6)  # the rate limit out of the way
    client = WebClient(app.test_client())
    unknown, wrong = [], []
    for attempt in range(8):
        unknown.append(_login_seconds(client, f"nobody{attempt}@example.com", PASSWORD))
        wrong.append(_login_seconds(client, "viewer@example.com", f"not the password {attempt}"))
    ratio = statistics.median(unknown[1:]) / statistics.median(wrong[1:])  # the first of each warms up
    print(
        f"\nsign-in median: unknown e-mail {statistics.median(unknown[1:]) * 1000:.1f} ms, "
        f"wrong password {statistics.median(wrong[1:]) * 1000:.1f} ms, ratio {ratio:.2f}"
    )
    assert 0.5 <= ratio <= 2.0


def test_behind_a_proxy_the_client_address_and_scheme_come_from_its_headers(app, users):
    """CALLBATCH_PROXY_HOPS=1: the failed sign-in is counted for the client the proxy names,
    and the request is HTTPS as the proxy says (CSRF then checks the Referer strictly)."""
    from webapp import auth, create_app
    from webapp.queues import connection

    proxied = create_app({"TESTING": True, "PROXY_HOPS": 1})
    client = WebClient(proxied.test_client())
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "Referer": "https://localhost/login"}
    with proxied.app_context():
        client._token = None
        page = client.get("/login", headers=forwarded)
        assert page.status_code == 200
        response = client.post("/login", data={"email": "viewer@example.com", "password": "wrong"}, headers=forwarded)
        assert response.status_code == 401
        _email_key, ip_key = auth._attempt_keys("viewer@example.com", "203.0.113.9")
        assert connection().get(ip_key) == b"1"
        no_referer = client.post(
            "/login",
            data={"email": "viewer@example.com", "password": "wrong"},
            headers={k: v for k, v in forwarded.items() if k != "Referer"},
        )
        assert no_referer.status_code == 400  # an HTTPS form post must come from this site
