"""The global batch configuration: its shape, defaults, validation and storage.

The JSON document is what Settings → Export writes and Import reads.
"""
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..extensions import db
from ..models import BatchSettings
from ..models.folder import DEFAULT_EXTENSIONS, DEFAULT_MAX_FILE_SIZE

MB = 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Processing(_Strict):
    maxConcurrentFiles: int = Field(5, ge=1, le=20)
    autoStart: bool = True              # monitors watch folders and scan on their own
    backgroundProcessing: bool = True   # periodic and cron scans run
    immediateProcessing: bool = True    # queue on discovery; otherwise hold until started
    paused: bool = False                # workers take no new files while paused


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
    transcriber: dict = Field(default_factory=lambda: {"type": "sidecar"})
    scorer: dict = Field(default_factory=lambda: {"type": "rubric"})


class Backup(_Strict):
    enabled: bool = False
    hour: int = Field(2, ge=0, le=23)       # the daily backup runs after this hour, in TIMEZONE
    destination: str = ""                   # a directory or s3://bucket/prefix; empty: instance/backups
    keep: int = Field(7, ge=1, le=365)      # the newest N backups are kept, older ones removed


class BatchConfig(_Strict):
    analysis: Analysis = Field(default_factory=Analysis)
    backup: Backup = Field(default_factory=Backup)
    processing: Processing = Field(default_factory=Processing)
    retryPolicy: RetryPolicy = Field(default_factory=RetryPolicy)
    scanning: Scanning = Field(default_factory=Scanning)


def defaults():
    return BatchConfig().model_dump()


def validate(document):
    """Return (config, errors): errors is a list of {"field", "message"}."""
    try:
        return BatchConfig.model_validate(document), []
    except ValidationError as exc:
        return None, [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]


def load():
    """The current configuration, defaults filled in for anything never saved."""
    row = db.session.get(BatchSettings, 1)
    stored = row.config if row else {}
    config, errors = validate(stored)
    return config if config else BatchConfig()


def save(config: BatchConfig):
    row = db.session.get(BatchSettings, 1) or BatchSettings(id=1)
    row.config = config.model_dump()
    db.session.add(row)
    db.session.commit()
    return row


def retry_delay(policy: RetryPolicy, retry_number):
    """Seconds to wait before retry number `retry_number` (1-based)."""
    if policy.exponentialBackoff:
        return policy.delaySeconds * 2 ** (retry_number - 1)
    return policy.delaySeconds
