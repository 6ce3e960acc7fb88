"""Fixtures for the JSON API tests: users of each role with personal API tokens, a client
that sends them, and the app served over real HTTP on 127.0.0.1 (for SSE, WebSocket and
schemathesis)."""

import pytest

ROLES = ("viewer", "manager", "admin")


@pytest.fixture
def tokens(ctx):
    """{role: bearer token} for a fresh user of each role."""
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import tokens as token_service

    found = {}
    for role in ROLES:
        user = User(email=f"{role}@example.com", role=role)
        user.set_password("correct horse battery staple")
        db.session.add(user)
        db.session.commit()
        _token, text, errors = token_service.create_token(user, f"{role} integration")
        assert not errors
        found[role] = text
    return found


class Api:
    """The Flask test client with a bearer token per role: api.get("viewer", "/api/...")."""

    def __init__(self, app, tokens):
        self.app = app
        self.client = app.test_client()
        self.tokens = tokens

    def request(self, role, method, path, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if role:
            headers["Authorization"] = f"Bearer {self.tokens.get(role, role)}"
        with self.app.app_context():  # a request of its own (fresh g and session), as in production
            return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, role, path, **kw):
        return self.request(role, "GET", path, **kw)

    def post(self, role, path, **kw):
        return self.request(role, "POST", path, **kw)

    def put(self, role, path, **kw):
        return self.request(role, "PUT", path, **kw)

    def patch(self, role, path, **kw):
        return self.request(role, "PATCH", path, **kw)

    def delete(self, role, path, **kw):
        return self.request(role, "DELETE", path, **kw)


@pytest.fixture
def api(app, tokens):
    return Api(app, tokens)
