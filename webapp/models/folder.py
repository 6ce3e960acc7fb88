import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow

DEFAULT_EXTENSIONS = ["mp3", "wav", "m4a", "aac", "ogg"]
DEFAULT_MAX_FILE_SIZE = 500 * 1024 * 1024


class ExternalFolder(db.Model):
    """A place recordings arrive: a local directory or a bucket/container and prefix."""

    __tablename__ = "external_folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    storage_type: Mapped[str] = mapped_column(sa.String(30))
    storage_config: Mapped[dict] = mapped_column(JSONType, default=dict)
    monitor_type: Mapped[str] = mapped_column(sa.String(30), default="polling")
    scan_interval: Mapped[int] = mapped_column(default=300)
    cron_schedule: Mapped[str | None] = mapped_column(sa.String(100))  # scan times of the "schedule" monitor
    monitor_warning: Mapped[str | None] = mapped_column(sa.Text)  # why file events fell back to polling
    # When found files are processed (webapp.timetable): immediate | hold | window | cron.
    process_mode: Mapped[str] = mapped_column(sa.String(20), default="immediate", server_default="immediate")
    window_start: Mapped[str | None] = mapped_column(sa.String(5))  # "HH:MM" in TIMEZONE
    window_end: Mapped[str | None] = mapped_column(sa.String(5))
    process_cron: Mapped[str | None] = mapped_column(sa.String(100))  # the "cron" mode's release times
    allowed_extensions: Mapped[list] = mapped_column(JSONType, default=lambda: list(DEFAULT_EXTENSIONS))
    max_file_size: Mapped[int] = mapped_column(sa.BigInteger, default=DEFAULT_MAX_FILE_SIZE)
    analysis_config: Mapped[dict] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    connection_status: Mapped[str] = mapped_column(sa.String(20), default="unknown")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_scan_at = mapped_column(UTCDateTime)
    last_polled_at = mapped_column(UTCDateTime)  # when the polling monitor last queued a scan
    last_cron_at = mapped_column(UTCDateTime)  # when the cron schedule last queued a scan
    last_released_at = mapped_column(UTCDateTime)  # when the "cron" processing mode last released files
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def extensions(self):
        return {e.lower().lstrip(".") for e in (self.allowed_extensions or DEFAULT_EXTENSIONS)}
