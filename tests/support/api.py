"""A test client for the JSON API that sends a personal API token per role."""

ROLES = ("viewer", "manager", "admin")


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
