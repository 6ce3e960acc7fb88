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
    """The pages, the JSON API, and what every page and template shares."""
    from .. import params
    from ..api import register_api  # the JSON API (webapp/api), sharing the same services
    from . import errors, headers

    app.url_map.converters["id"] = params.IdConverter  # before any route uses it
    app.before_request(params.check_request)
    for bp in _page_blueprints():
        app.register_blueprint(bp)
    register_api(app)
    _register_template_helpers(app)
    headers.register(app)
    errors.register(app)


def _page_blueprints():
    from . import (  # noqa: F401 (audit, customers and users add routes to the auth and calls blueprints)
        audit,
        auth,
        calls,
        customers,
        dashboard,
        files,
        folders,
        health,
        jobs,
        notifications,
        reports,
        settings,
        setup,
        trackers,
        users,
        workers,
    )

    pages = (
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
    )
    return [module.bp for module in pages]


def _register_template_helpers(app):
    from ..errors import explain
    from . import formatting
    from .setting_words import setting_label

    @app.context_processor
    def _roles():
        return {"can": lambda role: has_role(current_user, role)}

    app.jinja_env.globals["explain"] = explain
    app.jinja_env.globals["setting_label"] = setting_label
    formatting.register(app)
