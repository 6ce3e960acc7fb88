"""Callbatch: bulk analysis of Hebrew sales-call recordings."""

import os

from flask import Flask
from flask_babel import Babel

from .config import Config
from .extensions import db, migrate

babel = Babel()
LANGUAGES = ("en", "he")


def _locale():
    from flask import has_request_context, request
    from flask_login import current_user

    if not has_request_context():
        return None  # CLI, workers: the default locale
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES, default="en")


def _timezone():
    """Pages show times in the user's own zone, else in TIMEZONE (Babel's default zone)."""
    from flask import current_app, has_request_context
    from flask_login import current_user

    if has_request_context() and current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["TIMEZONE"]


def create_app(overrides=None):
    instance_path = os.environ.get("INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Config(app.instance_path))
    app.config.update(overrides or {})
    _trust_proxies(app)
    from . import logging_setup

    logging_setup.configure(app)
    _init_database(app)
    from .auth import csrf, login_manager

    login_manager.init_app(app)
    csrf.init_app(app)
    _init_babel(app)
    from .cli import register_commands
    from .views import register_blueprints

    register_commands(app)
    register_blueprints(app)
    connect_layers()
    return app


def _trust_proxies(app):
    """Behind a TLS-terminating proxy: the client's address, scheme and host come from its
    X-Forwarded-For/-Proto/-Host headers (the login rate limit counts the real client)."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _init_database(app):
    db.init_app(app)
    from . import models  # noqa: F401  (register the tables with SQLAlchemy)
    from .services import search  # keeps sales_calls.search_text in step with each transcript

    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
        include_name=search.include_in_schema_check,
    )


def _init_babel(app):
    """Interface language: the user's, else the browser's; time zone: the user's, else TIMEZONE."""
    from flask_babel import get_locale

    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", os.path.join(os.path.dirname(__file__), "..", "translations")
    )
    babel.init_app(app, locale_selector=_locale, timezone_selector=_timezone)
    app.jinja_env.globals["get_locale"] = get_locale


def connect_layers():
    """Hang the upper layers' work off what the lower ones announce, so that imports point one
    way (docs/ARCHITECTURE.md). Connecting again (one more app) changes nothing."""
    from . import queues, tasks
    from .batch import schedule, signals
    from .notifications import events as notify
    from .notifications import watch as notify_watch
    from .services import backup, live, trackers

    signals.status_changed.connect(notify.file_changed)
    signals.status_changed.connect(live.file_changed)
    signals.skipped_on_scan.connect(notify.file_changed)
    signals.job_counted.connect(live.job_counted)
    signals.job_finished.connect(notify.job_finished)
    signals.disk_short.connect(notify.resources_low)
    signals.call_filed.connect(trackers.call_filed)
    signals.call_filed.connect(notify.call_filed)
    schedule.every_tick(notify_watch.tick)
    schedule.every_tick(backup.tick)  # the daily backup, when one is configured and due
    queues.register_jobs(**tasks.JOBS)
