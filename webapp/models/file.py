import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class FileProcessingRecord(db.Model):
    """One recording found in a folder, and where it stands. Status changes go through
    webapp.batch.status.transition so every change leaves a FileEvent."""

    __tablename__ = "file_processing_records"
    __table_args__ = (
        sa.UniqueConstraint("folder_id", "file_path", name="uq_record_folder_path"),
        sa.Index("ix_records_job_status", "job_id", "status"),
        sa.Index("ix_records_status_updated", "status", "updated_at"),
        sa.Index("ix_records_status_finished", "status", "finished_at"),
        sa.Index(
            "ix_records_problems_updated",
            "updated_at",
            postgresql_where=sa.text("error_code IS NOT NULL"),
            sqlite_where=sa.text("error_code IS NOT NULL"),
        ),
        sa.Index("ix_records_folder_status_id", "folder_id", "status", "id"),
        sa.Index("ix_records_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("external_folders.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch_jobs.id", ondelete="SET NULL"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(255), index=True)
    file_path: Mapped[str] = mapped_column(sa.String(1024))
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    file_mtime = mapped_column(UTCDateTime)
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    source_checksum: Mapped[str | None] = mapped_column(sa.String(100), index=True)  # service's ETag/MD5/CRC
    audio_seconds: Mapped[float | None]
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    error_code: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    error_category: Mapped[str | None] = mapped_column(sa.String(20))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    retry_count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(100))
    worker_name: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at = mapped_column(UTCDateTime)
    next_retry_at = mapped_column(UTCDateTime)
    started_at = mapped_column(UTCDateTime)
    finished_at = mapped_column(UTCDateTime)
    stage_timings: Mapped[dict | None] = mapped_column(JSONType)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    folder = relationship("ExternalFolder")
    job = relationship("BatchJob")
    sales_call = relationship("SalesCall", uselist=False, back_populates="file")
    events = relationship("FileEvent", order_by="FileEvent.id", back_populates="record", passive_deletes=True)


class FileEvent(db.Model):
    """The history of a file: one row per status change (and per notable note)."""

    __tablename__ = "file_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("file_processing_records.id", ondelete="CASCADE"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[dict | None] = mapped_column(JSONType)

    record = relationship("FileProcessingRecord", back_populates="events")


class FileStatusCount(db.Model):
    """How many records of a folder are in each status. Kept by database triggers on
    file_processing_records (migration 0016) in the transaction of every insert, status
    change and delete, so it cannot drift from the records; `flask batch recount` checks it."""

    __tablename__ = "file_status_counts"

    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("external_folders.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    files: Mapped[int] = mapped_column(sa.BigInteger, default=0)
