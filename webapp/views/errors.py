"""The pages shown for 400, 403 and 404 (the API keeps its own JSON error shape)."""

from flask import render_template, request


def register(app):
    @app.errorhandler(400)
    def _bad_request(err):
        from ..api.errors import http_error, is_api_request

        if is_api_request():
            return http_error(err)  # the API's own error shape
        return render_template("errors/400.html", message=err.description), 400

    @app.errorhandler(403)
    def _forbidden(err):
        return render_template("errors/403.html"), 403

    @app.errorhandler(404)
    def _not_found(err):
        if request.path.startswith("/api/"):
            return err
        return render_template("errors/404.html"), 404
