"""The JSON API under /api: the same services as the pages, token or session auth, one error
shape, an OpenAPI document generated from the request models, a live status stream and
receivers for external triggers. `register_api(app)` is called by
webapp.views.register_blueprints."""

from flask import Blueprint, g, request

from ..auth import login_manager

bp = Blueprint("api", __name__, url_prefix="/api")

API_VERSION = "1.0"


def page_json(page, view):
    """A services.Page as the API lists things: items plus page, per_page, total, pages."""
    return {
        "items": [view(item) for item in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


@login_manager.request_loader
def _load_user_from_token(req):
    """`Authorization: Bearer <token>`: the token's user, with the same roles as the pages."""
    header = req.headers.get("Authorization", "")
    scheme, _, text = header.partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        return None
    from ..services import tokens

    user, token = tokens.authenticate(text.strip())
    if user is None:
        g.api_token_error = "The API token is unknown, revoked or expired."
        return None
    g.api_token = token
    return user


from . import errors as _errors  # noqa: E402

_errors.register_blueprint_handlers(bp)


def register_api(app):
    from . import (  # noqa: F401
        calls,
        config,
        customers,
        docs,
        errors,
        files,
        folders,
        jobs,
        notifications,
        receivers,
        reports,
        speech,
        status,
        tokens,
        trackers,
        workers,
    )

    errors.register(app)
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)  # the API checks CSRF itself, for browser sessions only (api.auth.require)
    status.sock.init_app(app)

    @app.after_request
    def _no_cache(response):
        if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
