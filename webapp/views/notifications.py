"""Notifications: channels (a form per type from the notifier registry), enable/disable,
send a test, delivery history. Admins change them; everyone may read."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import role_required
from ..errors import CODES
from ..params import safe_next
from ..services import folders as folder_service
from ..services import notifications as service
from . import is_htmx, require_login
from .users import LANGUAGE_NAMES

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
require_login(bp)


@bp.context_processor
def _words():
    """Channel types, conditions and channel settings by their labels, in the reader's language."""
    from ..notifications import NOTIFIERS
    from ..notifications.conditions import CONDITIONS

    def channel_label(kind):
        return str(NOTIFIERS[kind].label) if kind in NOTIFIERS else kind

    def condition_label(name):
        return str(CONDITIONS[name][0]) if name in CONDITIONS else name

    def setting_label(kind, name):
        fields = {f.name: f for f in getattr(NOTIFIERS.get(kind), "fields", ())}
        return str(fields[name].label) if name in fields else name

    return {"channel_label": channel_label, "condition_label": condition_label, "setting_label": setting_label}


def _who():
    return dict(actor=current_user.email, user_id=current_user.id)


@bp.get("/")
def index():
    return render_template(
        "notifications/index.html", configs=service.list_configs(), history=service.history(limit=20)
    )


def _form(config, data, errors, status=200):
    providers = service.providers()
    provider = _provider(data.get("type")) or providers[0]
    return render_template(
        "notifications/form.html",
        config=config,
        data=data,
        errors=errors,
        providers=providers,
        provider=provider,
        conditions=service.conditions(),
        folders=folder_service.list_folders(),
        codes=sorted(CODES),
        language_names=LANGUAGE_NAMES,
        config_language=current_app.config["LANGUAGE"],
    ), status


@bp.get("/new")
@role_required("admin")
def new():
    kind = request.args.get("type") or service.providers()[0]["type"]
    return _form(
        None,
        {"type": kind, "config": {}, "conditions": [], "cooldown_minutes": 10, "stall_minutes": 30, "enabled": True},
        [],
    )


@bp.get("/fields")
@role_required("admin")
def fields():
    kind = request.args.get("type")
    provider = _provider(kind) or abort(404)
    if not is_htmx():
        return redirect(url_for("notifications.new", type=kind))
    return render_template("partials/notifier_fields.html", provider=provider, config={})


def _data(form):
    kind = form.get("type")
    config = {}
    for f in (_provider(kind) or {}).get("fields", []):
        value = form.get(f"cfg.{f['name']}", "")
        config[f["name"]] = (value == "on") if f["kind"] == "bool" else value
    return {
        "name": form.get("name", ""),
        "type": kind,
        "config": config,
        "conditions": form.getlist("conditions"),
        "folder_ids": [i for i in form.getlist("folder_ids") if i] or None,
        "error_codes": [c for c in form.getlist("error_codes") if c] or None,
        "cooldown_minutes": form.get("cooldown_minutes", 10),
        "stall_minutes": form.get("stall_minutes", 30),
        "enabled": form.get("enabled") == "on",
        "language": form.get("language") or None,
    }


@bp.post("/new")
@role_required("admin")
def create():
    data = _data(request.form)
    config, errors = service.create_config(data, **_who())
    if errors:
        return _form(None, _shown(data), errors, 422)
    flash(_("Notification '%(name)s' added.", name=config.name))
    return redirect(url_for("notifications.detail", config_id=config.id))


@bp.get("/<id:config_id>")
def detail(config_id):
    config = service.get_config(config_id) or abort(404)
    status = request.args.get("status") or None
    return render_template(
        "notifications/detail.html",
        config=service.view(config),
        history=service.history(config_id, status=status, limit=100, before_id=request.args.get("before_id", type=int)),
        status=status,
    )


@bp.get("/<id:config_id>/edit")
@role_required("admin")
def edit(config_id):
    config = service.get_config(config_id) or abort(404)
    return _form(config, service.view(config), [])


@bp.post("/<id:config_id>/edit")
@role_required("admin")
def update(config_id):
    config = service.get_config(config_id) or abort(404)
    data = _data(request.form)
    _config, errors = service.update_config(config, data, **_who())
    if errors:
        return _form(config, _shown(data), errors, 422)
    flash(_("Notification saved."))
    return redirect(url_for("notifications.detail", config_id=config_id))


@bp.post("/<id:config_id>/enabled")
@role_required("admin")
def set_enabled(config_id):
    config = service.get_config(config_id) or abort(404)
    service.set_enabled(config, request.form.get("enabled") == "1", **_who())
    flash(_("Notification enabled.") if config.enabled else _("Notification disabled."))
    return redirect(safe_next(request.form.get("back")) or url_for("notifications.detail", config_id=config_id))


@bp.post("/<id:config_id>/test")
@role_required("admin")
def send_test(config_id):
    config = service.get_config(config_id) or abort(404)
    delivery = service.send_test(config, **_who())
    flash(_("Test message queued (delivery #%(num)d); its result appears in the history below.", num=delivery.id))
    return redirect(url_for("notifications.detail", config_id=config_id))


@bp.post("/<id:config_id>/delete")
@role_required("admin")
def delete(config_id):
    config = service.get_config(config_id) or abort(404)
    name = config.name
    service.delete_config(config, **_who())
    flash(_("Notification '%(name)s' deleted.", name=name))
    return redirect(url_for("notifications.index"))


def _shown(data):
    secrets = {f["name"] for f in (_provider(data.get("type")) or {}).get("fields", []) if f["kind"] == "secret"}
    return {**data, "config": {k: ("" if k in secrets else v) for k, v in data["config"].items()}}


def _provider(kind):
    """The channel type's description (its fields) for a type, or None."""
    return next((p for p in service.providers() if p["type"] == kind), None)
