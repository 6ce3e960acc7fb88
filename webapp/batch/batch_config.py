"""The global batch configuration: its shape, defaults, validation and storage.

The JSON document is what Settings → Export writes and Import reads.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..extensions import db
from ..models import BatchSettings
from ..models.folder import DEFAULT_EXTENSIONS, DEFAULT_MAX_FILE_SIZE

MB = 1024 * 1024
MAX_DEPTH = 20  # levels of nesting in a settings document (provider settings included)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Processing(_Strict):
    maxConcurrentFiles: int = Field(5, ge=1, le=20)
    autoStart: bool = True  # monitors watch folders and scan on their own
    backgroundProcessing: bool = True  # periodic and cron scans run
    immediateProcessing: bool = True  # queue on discovery; otherwise hold until started
    paused: bool = False  # workers take no new files while paused


class RetryPolicy(_Strict):
    enabled: bool = True
    maxRetries: int = Field(3, ge=0, le=10)
    delaySeconds: int = Field(30, ge=1, le=86400)
    exponentialBackoff: bool = True


class Scanning(_Strict):
    scanInterval: int = Field(300, ge=30, le=3600)
    maxFileSize: int = Field(DEFAULT_MAX_FILE_SIZE, ge=MB, le=2048 * MB)
    allowedExtensions: list[str] = Field(default_factory=lambda: list(DEFAULT_EXTENSIONS), min_length=1)
    fileSettleSeconds: int = Field(10, ge=0, le=3600)


class Analysis(_Strict):
    transcriber: dict = Field(default_factory=lambda: {"type": "auto"})
    diarizer: dict = Field(default_factory=lambda: {"type": "channels"})
    scorer: dict = Field(default_factory=lambda: {"type": "rubric"})


class Backup(_Strict):
    enabled: bool = False
    hour: int = Field(2, ge=0, le=23)  # the daily backup runs after this hour, in TIMEZONE
    destination: str = ""  # a directory or s3://bucket/prefix; empty: instance/backups
    keep: int = Field(7, ge=1, le=365)  # the newest N backups are kept, older ones removed


class BatchConfig(_Strict):
    analysis: Analysis = Field(default_factory=Analysis)
    backup: Backup = Field(default_factory=Backup)
    processing: Processing = Field(default_factory=Processing)
    retryPolicy: RetryPolicy = Field(default_factory=RetryPolicy)
    scanning: Scanning = Field(default_factory=Scanning)


def defaults() -> dict[str, Any]:
    return BatchConfig().model_dump()


def validate(document: Any) -> tuple[BatchConfig | None, list[dict[str, str]]]:
    """Return (config, errors): errors is a list of {"field", "message"}. Validate, Save,
    Import and the API all come here: the shape, then the transcriber and the scorer
    settings checked by their own providers, so a bad provider setting is refused now
    instead of failing every file later."""
    errors = _text_problems(document)
    if errors:
        return None, errors
    config, errors = _parse(document)
    if config is None:
        return None, errors
    errors = [
        {"field": f"analysis.{kind}", "message": message}
        for kind in ("transcriber", "diarizer", "scorer")
        for message in provider_problems(kind, getattr(config.analysis, kind))
    ]
    return (None, errors) if errors else (config, [])


def provider_problems(kind: str, config: dict[str, Any]) -> list[str]:
    """The messages of the `kind` provider named by config["type"] ([] when it is valid). An
    empty scorer means the built-in rubric scorer, an empty diarizer the channel split."""
    from ..analysis import DEFAULT_DIARIZER, DEFAULT_SCORER, REGISTRIES

    if kind == "scorer" and not config:
        config = DEFAULT_SCORER
    if kind == "diarizer" and not config:
        config = DEFAULT_DIARIZER
    registry = REGISTRIES[kind]
    name = config.get("type")
    known = ", ".join(sorted(registry))
    if not name:
        return [f"Choose a {kind} type: one of {known}."]
    if not isinstance(name, str) or name not in registry:
        return [f"Unknown {kind} type '{str(name)[:60]}' (known: {known})."]
    return list(registry[name].validate_config(config))


def _text_problems(document):
    """The document is stored and audited as JSON: no control characters (PostgreSQL refuses
    a NUL), and at most MAX_DEPTH levels of nesting. Walked without recursion."""
    from ..params import CONTROL

    stack = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return [{"field": path, "message": f"The settings are nested more than {MAX_DEPTH} levels deep."}]
        if isinstance(value, str) and CONTROL.search(value):
            return [
                {
                    "field": path or "document",
                    "message": "Contains a control character (such as a NUL byte); remove it.",
                }
            ]
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(key, str) and CONTROL.search(key):
                return [
                    {
                        "field": path or "document",
                        "message": "A field name contains a control character (such as a NUL byte).",
                    }
                ]
            stack.append((item, f"{path}.{key}" if path else str(key), depth + 1))
    return []


def _parse(document):
    try:
        return BatchConfig.model_validate(document), []
    except ValidationError as exc:
        return None, [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]


def load() -> BatchConfig:
    """The current configuration, defaults filled in for anything never saved. A stored
    provider setting that no longer passes its provider's check is kept as stored: the
    files fail with its message, where an admin sees it."""
    row = db.session.get(BatchSettings, 1)
    stored = row.config if row else {}
    config, _errors = _parse(stored)  # the shape only: a stored provider setting is never dropped here
    return config if config else BatchConfig()


def save(config: BatchConfig) -> BatchSettings:
    row = db.session.get(BatchSettings, 1) or BatchSettings(id=1)
    row.config = config.model_dump()
    db.session.add(row)
    db.session.commit()
    return row


def retry_delay(policy: RetryPolicy, retry_number: int) -> int:
    """Seconds to wait before retry number `retry_number` (1-based)."""
    if policy.exponentialBackoff:
        return policy.delaySeconds * 2 ** (retry_number - 1)
    return policy.delaySeconds
