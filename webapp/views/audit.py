"""The audit log page (managers). A route on the auth blueprint (endpoint auth.audit_log)."""

from flask import render_template, request

from ..auth import role_required
from ..services import audit as audit_service
from .auth import bp


@bp.get("/audit")
@role_required("manager")
def audit_log():
    filters = audit_service.parse_filters(request.args)
    page = audit_service.list_entries(filters, request.args.get("page"), 50)
    return render_template("audit/index.html", page=page, filters=filters, actions=audit_service.actions())
