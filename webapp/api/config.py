"""/api/batch/config: the global batch configuration — get, replace, reset, validate."""
from flask_login import current_user

from ..batch.settings import BatchConfig
from ..services import settings as service
from . import bp
from .errors import invalid
from .registry import operation

TAG = "config"


@operation(bp, "GET", "/batch/config", tag=TAG, summary="Get the batch configuration", response=BatchConfig)
def get_config():
    """The configuration in force (defaults filled in) — the same document Settings → Export writes."""
    return service.current()


@operation(bp, "PUT", "/batch/config", tag=TAG, summary="Replace the batch configuration", role="admin",
           body=BatchConfig, response=BatchConfig)
def put_config(body):
    """Sections or fields left out take their defaults; unknown fields and out-of-range values
    are refused (422, with each field and the reason) and nothing is saved."""
    saved, errors = service.save(body.model_dump(), user=current_user)
    if errors:
        raise invalid(errors)
    return saved


@operation(bp, "POST", "/batch/config/reset", tag=TAG, summary="Reset the configuration to defaults",
           role="admin", response=BatchConfig)
def reset_config():
    """Everything back to the defaults, except that a processing pause is kept."""
    return service.reset(user=current_user)


@operation(bp, "POST", "/batch/config/validation", tag=TAG, summary="Validate a configuration document",
           role="manager", body=dict)
def validate_config(body):
    """Checks a document without saving it: {"valid", "errors": [{"field", "message"}]}."""
    errors = service.validate(body)
    return {"valid": not errors, "errors": errors}


@operation(bp, "GET", "/batch/config/defaults", tag=TAG, summary="The default configuration",
           response=BatchConfig)
def config_defaults():
    return service.defaults()
