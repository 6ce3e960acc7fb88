from .dashboard import bp as dashboard_bp


def register_blueprints(app):
    app.register_blueprint(dashboard_bp)
