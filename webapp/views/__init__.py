"""Blueprints: pages and the htmx fragments they poll. Every page needs a signed-in user;
every route that changes something checks the role on the server (auth.role_required)."""

from flask import request
from flask_login import current_user

from ..auth import has_role, login_manager


def require_login(bp):
    """Every route of `bp` needs a signed-in user (the login page redirects back)."""

    @bp.before_request
    def _signed_in():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()


def is_htmx():
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def register_blueprints(app):
    from .. import params
    from . import (
        auth,
        calls,
        dashboard,
        errors,
        files,
        folders,
        headers,
        health,
        jobs,
        notifications,
        reports,
        settings,
        setup,
        trackers,
        workers,
    )

    app.url_map.converters["id"] = params.IdConverter  # before any route uses it
    app.before_request(params.check_request)
    from . import audit, customers, users  # noqa: F401 (routes on the auth and calls blueprints)

    for module in (
        auth,
        dashboard,
        folders,
        files,
        jobs,
        calls,
        settings,
        notifications,
        reports,
        setup,
        health,
        trackers,
        workers,
    ):
        app.register_blueprint(module.bp)
    from ..api import register_api  # the JSON API (webapp/api), sharing the same services

    register_api(app)

    @app.context_processor
    def _roles():
        return {"can": lambda role: has_role(current_user, role)}

    from ..errors import explain

    app.jinja_env.globals["explain"] = explain
    from .setting_words import setting_label

    app.jinja_env.globals["setting_label"] = setting_label
    from . import formatting

    formatting.register(app)

    headers.register(app)
    errors.register(app)
