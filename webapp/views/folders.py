"""Folders: list, add, edit, delete; test connection, scan now, preview (dry run). The form's
storage fields come from the provider registry, so a new provider needs no template."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import role_required
from ..batch.folder_config import secret_fields
from ..crypto import MASK
from ..params import number, safe_next
from ..services import folder_templates
from ..services import folders as service
from . import is_htmx, require_login

bp = Blueprint("folders", __name__, url_prefix="/folders")
require_login(bp)


@bp.get("/")
def index():
    folders = service.list_folders()
    return render_template("folders/index.html", folders=folders, counts=service.file_counts())


@bp.get("/new")
@role_required("admin")
def new():
    """The empty form; `?template=` fills it from a folder template (and says what to set up
    on the storage side), `?setup=1` comes back to the setup guide once saved."""
    storage_type = request.args.get("storage_type") or "local"
    defaults = service.new_folder_defaults()
    data = {
        **defaults,
        "storage_type": storage_type,
        "storage_config": {},
        "process_mode": "immediate",
        "allowed_extensions": " ".join(defaults["allowed_extensions"]),
        "max_file_size_mb": defaults["max_file_size"] // service.MB,
    }
    template = folder_templates.get(request.args.get("template"))
    if template:
        data = folder_templates.form_data(template["id"], data)
    return _form(None, data, [], template=template, setup=request.args.get("setup") == "1")


@bp.post("/new")
@role_required("admin")
def create():
    data, errors = _data(request.form)
    setup = request.form.get("setup") == "1"
    if not errors:
        folder, errors = service.create_folder(data)
    if errors:
        return _form(None, _shown(data), errors, 422, setup=setup)
    flash(_("Folder '%(name)s' added.", name=folder.name))
    if setup:
        return redirect(url_for("setup.step", step_id="speech"))
    return redirect(url_for("folders.detail", folder_id=folder.id))


@bp.get("/fields")
def fields():
    """The provider's fields for a storage type (swapped in when the type select changes)."""
    storage_type = request.args.get("storage_type", "local")
    provider = _provider(storage_type) or abort(404)
    if not is_htmx():
        return redirect(url_for("folders.new", storage_type=storage_type))
    return render_template("partials/folder_fields.html", provider=provider, config={}, errors=[])


@bp.get("/<id:folder_id>")
def detail(folder_id):
    folder = service.get_folder(folder_id) or abort(404)
    return render_template(
        "folders/detail.html",
        folder=folder,
        shown=service.view(folder),
        plan=service.plan_of(folder),
        counts=service.file_counts([folder.id]).get(folder.id, {}),
        provider=_provider(folder.storage_type),
    )


@bp.get("/<id:folder_id>/edit")
@role_required("admin")
def edit(folder_id):
    folder = service.get_folder(folder_id) or abort(404)
    shown = service.view(folder)
    data = {
        **shown,
        "allowed_extensions": " ".join(shown["allowed_extensions"]),
        "max_file_size_mb": folder.max_file_size // service.MB,
        "analysis": service.analysis_form_values(folder.analysis_config),
    }
    return _form(folder, data, [])


@bp.post("/<id:folder_id>/edit")
@role_required("admin")
def update(folder_id):
    folder = service.get_folder(folder_id) or abort(404)
    data, errors = _data(request.form, folder)
    if not errors:
        _folder, errors = service.update_folder(folder, data)
    if errors:
        return _form(folder, _shown(data), errors, 422)
    flash(_("Folder '%(name)s' saved.", name=folder.name))
    return redirect(url_for("folders.detail", folder_id=folder.id))


@bp.post("/<id:folder_id>/delete")
@role_required("admin")
def delete(folder_id):
    folder = service.get_folder(folder_id) or abort(404)
    name = folder.name
    service.delete_folder(folder)
    flash(_("Folder '%(name)s' deleted.", name=name))
    if is_htmx():
        response = redirect(url_for("folders.index"))
        response.headers["HX-Redirect"] = url_for("folders.index")
        return response
    return redirect(url_for("folders.index"))


@bp.post("/<id:folder_id>/test")
@role_required("admin")
def test(folder_id):
    """Test the stored settings (from the list/detail) and keep the result as its status."""
    folder = service.get_folder(folder_id) or abort(404)
    result = service.test_connection(folder)
    return _result("partials/connection_result.html", result, url_for("folders.detail", folder_id=folder.id))


@bp.post("/test")
@role_required("admin")
def test_form():
    """Test the settings typed in the form, before saving them."""
    folder = service.get_folder(int(request.form["folder_id"])) if request.form.get("folder_id") else None
    data, _errors = _data(request.form, folder)
    result = service.test_connection(folder, data["storage_type"], data["storage_config"])
    if is_htmx():
        return render_template("partials/connection_result.html", result=result)
    _flash_connection(result)
    return _form(folder, _shown(data), [], setup=request.form.get("setup") == "1")


@bp.post("/<id:folder_id>/scan")
@role_required("manager")
def scan(folder_id):
    folder = service.get_folder(folder_id) or abort(404)
    service.scan_now(folder)
    message = _("Scan of '%(name)s' queued: a worker runs it now.", name=folder.name)
    if is_htmx():
        return render_template("partials/flash.html", messages=[("info", message)])
    flash(message)
    return redirect(safe_next(request.referrer) or url_for("folders.detail", folder_id=folder.id))


@bp.get("/<id:folder_id>/preview")
@role_required("manager")
def preview(folder_id):
    folder = service.get_folder(folder_id) or abort(404)
    result = service.preview(folder)
    template = "partials/preview.html" if is_htmx() else "folders/preview.html"
    return render_template(template, folder=folder, result=result)


def _result(template, result, back):
    if is_htmx():
        return render_template(template, result=result)
    _flash_connection(result)
    return redirect(back)


def _flash_connection(result):
    flash(
        (_("Connection OK: ") if result["ok"] else _("Connection failed: ")) + (result.get("message") or ""),
        "info" if result["ok"] else "error",
    )


def _provider(storage_type):
    """The storage provider's description (its fields) for a type, or None."""
    return next((t for t in service.storage_types() if t["type"] == storage_type), None)


def _data(form, folder=None):
    """(folder document, errors) from the form: storage fields are named `cfg.<name>`, the
    analysis fields `analysis_*`. Scanning fields left out take the global defaults."""
    storage_type = form.get("storage_type", "")
    raw = {key[4:]: form.get(key) for key in form if key.startswith("cfg.")}
    for f in (_provider(storage_type) or {}).get("fields", []):
        if f["kind"] == "bool" and f["name"] not in raw:
            raw[f["name"]] = "off"  # an unticked checkbox sends nothing
    data = {
        "name": form.get("name", ""),
        "storage_type": storage_type,
        "storage_config": service.coerce_storage_config(storage_type, raw),
        "monitor_type": form.get("monitor_type", "polling"),
        "cron_schedule": form.get("cron_schedule", ""),
        "process_mode": form.get("process_mode", "immediate"),
        "window_start": form.get("window_start", ""),
        "window_end": form.get("window_end", ""),
        "process_cron": form.get("process_cron", ""),
        "enabled": form.get("enabled") == "on",
    }
    for key in ("scan_interval", "allowed_extensions"):
        if key in form:
            data[key] = form[key]
    if "max_file_size_mb" in form:
        size_mb = number(form["max_file_size_mb"])
        # Out of any sensible range (or not a number): the raw text, which the service refuses.
        fits = size_mb is not None and abs(size_mb) <= 1_000_000
        data["max_file_size"] = int(size_mb * service.MB) if fits else form["max_file_size_mb"]
    data["analysis_config"], errors = service.analysis_from_form(form, folder)
    data["analysis"] = {
        "transcriber": form.get("analysis_transcriber", ""),
        "diarizer": form.get("analysis_diarizer", ""),
        "scorer": form.get("analysis_scorer", ""),
        "rubric": form.get("analysis_rubric", ""),
        "redact": form.get("analysis_redact") == "on",
    }
    return data, errors


def _shown(data):
    """The submitted data as the form redraws it: secrets never echoed back."""
    secrets = secret_fields(data.get("storage_type"))
    config = {k: (MASK if k in secrets and v else v) for k, v in (data.get("storage_config") or {}).items()}
    size = data.get("max_file_size")
    return {**data, "storage_config": config, "max_file_size_mb": size // service.MB if isinstance(size, int) else size}


def _form(folder, data, errors, status=200, template=None, setup=False):
    types = service.storage_types()
    provider = _provider(data.get("storage_type")) or types[0]
    analysis = data.get("analysis") or service.analysis_form_values(data.get("analysis_config"))
    return render_template(
        "folders/form.html",
        folder=folder,
        data=data,
        errors=errors,
        types=types,
        provider=provider,
        monitors=service.monitor_types(),
        process_modes=service.process_modes(),
        analysis=analysis,
        analysis_types=service.analysis_types(),
        setup=setup,
        templates=folder_templates.TEMPLATES,
        template=template,
        steps=folder_templates.cloud_steps(template["id"]) if template else [],
        events_ready=folder_templates.events_ready(),
    ), status
