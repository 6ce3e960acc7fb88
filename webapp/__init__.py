"""Callbatch: bulk analysis of Hebrew sales-call recordings."""
import logging
import os

from flask import Flask

from .config import Config
from .extensions import db, migrate


def create_app(overrides=None):
    instance_path = os.environ.get("INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True,
                template_folder="../templates", static_folder="../static")
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Config(app.instance_path))
    app.config.update(overrides or {})
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    from . import models  # noqa: F401  (register the tables with SQLAlchemy)
    from .auth import csrf, login_manager

    login_manager.init_app(app)
    csrf.init_app(app)

    from .cli import register_commands
    from .views import register_blueprints

    register_commands(app)
    register_blueprints(app)
    return app
