import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

PENDING = "pending"  # files discovered, held until someone starts the job
RUNNING = "running"
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed_with_errors"
FAILED = "failed"  # the job itself could not run (folder unreachable)
CANCELLED = "cancelled"
ACTIVE_STATUSES = (PENDING, RUNNING)
STATUSES = (PENDING, RUNNING, COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELLED)


class BatchJob(db.Model):
    """One scan's worth of files. Counters move in the same transaction as file statuses."""

    __tablename__ = "batch_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("external_folders.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(sa.String(30), default=RUNNING, index=True)
    trigger: Mapped[str] = mapped_column(sa.String(30), default="manual")
    total_files: Mapped[int] = mapped_column(default=0)
    processed_files: Mapped[int] = mapped_column(default=0)
    failed_files: Mapped[int] = mapped_column(default=0)
    skipped_files: Mapped[int] = mapped_column(default=0)
    cancelled_files: Mapped[int] = mapped_column(default=0)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at = mapped_column(UTCDateTime)
    completed_at = mapped_column(UTCDateTime)

    folder = relationship("ExternalFolder")

    @property
    def finished_files(self):
        return self.processed_files + self.failed_files + self.skipped_files + self.cancelled_files

    @property
    def progress(self):
        return 100 if not self.total_files else round(100 * self.finished_files / self.total_files)
