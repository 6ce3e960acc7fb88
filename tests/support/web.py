"""Signed-in test clients for the pages, which send the CSRF token like the pages do, and
signing in through the login form of a real browser."""

import re

PASSWORD = "correct horse battery"
ROLES = ("admin", "manager", "viewer")


class WebClient:
    """A Flask test client signed in as one user; `post` sends the page's CSRF token."""

    def __init__(self, client, user=None):
        self.client, self.user, self._token = client, user, None

    def get(self, *args, **kwargs):
        _forget_request_user()
        return self.client.get(*args, **kwargs)

    def token(self):
        if self._token is None:
            page = self.get("/settings/")
            if page.status_code == 302:  # not signed in
                page = self.get("/login")
            assert page.status_code == 200, (page.status_code, page.get_data(as_text=True)[:1500])
            self._token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
        return self._token

    def post(self, url, data=None, csrf=True, htmx=False, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if csrf:
            headers["X-CSRFToken"] = self.token()
        if htmx:
            headers["HX-Request"] = "true"
        _forget_request_user()
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)


def _forget_request_user():
    """Requests made while a test holds an app context share its `g`, where Flask-Login caches
    the signed-in user: forget it, so each request loads its own from its session cookie."""
    from flask import g, has_app_context

    if has_app_context():
        for name in ("_login_user", "csrf_token", "csrf_valid"):
            g.pop(name, None)


def sign_in(app, email, password=PASSWORD):
    client = WebClient(app.test_client())
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.user, client._token = email, None
    return client


def browser_sign_in(browser, base, email="admin@example.com", timeout=20000):
    """A new page in a fresh browser context, signed in as `email` through the login form,
    on the dashboard. `bypass_csp` lets Playwright evaluate its own predicates."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(timeout)
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page
