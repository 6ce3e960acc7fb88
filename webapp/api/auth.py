"""Who is asking an API request: a signed-in user (browser session or personal API token)
with a high enough role, and the CSRF token for a browser session's changes."""

from flask import g, request
from flask_login import current_user

from ..auth import has_role
from .errors import ApiError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def require(role):
    """401 without a user, 403 below `role`; CSRF for a browser session's changes."""
    if not current_user.is_authenticated:
        message = g.get("api_token_error") or (
            "Sign in, or send a personal API token as 'Authorization: Bearer <token>'."
        )
        raise ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="callbatch"'})
    if not has_role(current_user, role):
        raise ApiError(403, f"This needs the {role} role (you are {current_user.role}).")
    if request.method not in SAFE_METHODS and g.get("api_token") is None:
        check_csrf()


def check_csrf():
    """A browser session changing something must send its CSRF token (X-CSRFToken header),
    exactly as the pages' htmx requests do."""
    from flask import current_app

    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError as CsrfError

    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    try:
        validate_csrf(token)
    except CsrfError as exc:
        raise ApiError(
            403,
            f"CSRF check failed: {exc}. Send the page's CSRF token as X-CSRFToken, or use an API token.",
            code="CSRF_FAILED",
        ) from None
