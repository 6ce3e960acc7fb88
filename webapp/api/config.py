"""/api/batch/config: the global batch configuration — get, replace, reset, validate — and the
whole configuration document (export, import, validation of what is in force)."""

from typing import Literal

from flask_login import current_user
from pydantic import Field

from ..batch.batch_config import BatchConfig
from ..services import config_document
from ..services import settings as service
from . import bp
from .errors import ApiError, checked
from .registry import operation
from .schemas import Query

TAG = "config"


@operation(bp, "GET", "/batch/config", tag=TAG, summary="Get the batch configuration", response=BatchConfig)
def get_config():
    """The configuration in force (defaults filled in) — the same document Settings → Export writes."""
    return service.current()


@operation(
    bp,
    "PUT",
    "/batch/config",
    tag=TAG,
    summary="Replace the batch configuration",
    role="admin",
    body=BatchConfig,
    response=BatchConfig,
)
def put_config(body):
    """Sections or fields left out take their defaults; unknown fields and out-of-range values
    are refused (422, with each field and the reason) and nothing is saved."""
    return checked(service.save(body.model_dump(), user=current_user))


@operation(
    bp,
    "POST",
    "/batch/config/reset",
    tag=TAG,
    summary="Reset the configuration to defaults",
    role="admin",
    response=BatchConfig,
)
def reset_config():
    """Everything back to the defaults, except that a processing pause is kept."""
    return service.reset(user=current_user)


@operation(
    bp,
    "POST",
    "/batch/config/validation",
    tag=TAG,
    summary="Validate a configuration document",
    role="manager",
    body=dict,
)
def validate_config(body):
    """Checks a document without saving it: {"valid", "errors": [{"field", "message"}]}."""
    errors = service.validate(body)
    return {"valid": not errors, "errors": errors}


class ValidationQuery(Query):
    connections: bool = Field(False, description="Also try each enabled folder's storage connection.")


class ExportQuery(Query):
    secrets: Literal["omit", "encrypted"] = Field(
        "omit",
        description=(
            "omit: secrets are written masked; encrypted: the stored encrypted values, importable only where the "
            "same encryption key is set."
        ),
    )


class ImportQuery(Query):
    dry_run: bool = Field(False, description="Only report what the import would create, change and leave.")


@operation(
    bp,
    "GET",
    "/batch/config/validation",
    tag=TAG,
    summary="Validate the configuration in force",
    role="manager",
    query=ValidationQuery,
)
def current_validation(query):
    """Checks the stored global configuration and every folder and notification by its provider
    (with `?connections=1`, each enabled folder's connection too). Each problem says where it is in
    the exported document: {"valid", "problems": [{"where", "message", "folder_id" | "notification_id"}]}."""
    return config_document.problems(connections=query.connections)


@operation(
    bp,
    "GET",
    "/batch/config/export",
    tag=TAG,
    summary="Export the whole configuration document",
    role="admin",
    query=ExportQuery,
)
def export_document(query):
    """Folders, notification channels, processing, scanning and analysis settings (with the
    scorecard) in the shape of the spec's configuration document."""
    return config_document.export(secrets=query.secrets)


@operation(
    bp,
    "POST",
    "/batch/config/import",
    tag=TAG,
    summary="Import a configuration document",
    role="admin",
    body=dict,
    query=ImportQuery,
    responses={422: "The document has problems: nothing was changed"},
)
def import_document(body, query):
    """Validates the whole document first and changes nothing if any part is invalid (422, each
    problem with where it is). Folders are matched by name, notifications by name and type.
    Returns what was (or, with `?dry_run=1`, would be) created, changed and left, and which entries
    are imported disabled because the document held placeholder credentials."""
    report = config_document.import_document(body, dry_run=query.dry_run, user=current_user)
    if not report["valid"]:
        raise ApiError(
            422,
            f"The document has {len(report['errors'])} problem(s); nothing was changed.",
            details=[{"field": e["where"], "reason": e["message"]} for e in report["errors"]],
        )
    return report


@operation(bp, "GET", "/batch/config/defaults", tag=TAG, summary="The default configuration", response=BatchConfig)
def config_defaults():
    return service.defaults()
