import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class Customer(db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    call_count: Mapped[int] = mapped_column(default=0)
    first_call_at = mapped_column(UTCDateTime)
    last_call_at = mapped_column(UTCDateTime)
    latest_score: Mapped[float | None]
    average_score: Mapped[float | None]
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    calls = relationship("SalesCall", back_populates="customer", order_by="SalesCall.called_at")


class SalesCall(db.Model):
    """The outcome of one processed recording. Unique per content hash, so a replayed job
    can never file the same call twice."""

    __tablename__ = "sales_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("file_processing_records.id", ondelete="SET NULL"), unique=True
    )
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch_jobs.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    content_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    call_uuid: Mapped[str] = mapped_column(sa.String(36), index=True)
    agent: Mapped[str | None] = mapped_column(sa.String(200))
    called_at = mapped_column(UTCDateTime, index=True)
    duration_seconds: Mapped[float | None]
    language: Mapped[str | None] = mapped_column(sa.String(10))
    transcript: Mapped[str] = mapped_column(sa.Text, default="")
    search_text: Mapped[str | None] = mapped_column(sa.Text)  # the transcript as services/search.py indexes it
    segments: Mapped[list] = mapped_column(JSONType, default=list)
    engine: Mapped[str | None] = mapped_column(sa.String(50))
    model: Mapped[str | None] = mapped_column(sa.String(300))
    overall_score: Mapped[float | None] = mapped_column(index=True)
    scores: Mapped[dict | None] = mapped_column(JSONType)
    metrics: Mapped[dict | None] = mapped_column(JSONType)
    stage_timings: Mapped[dict | None] = mapped_column(JSONType)
    # Seconds of the recording that held redacted personal data: silenced in the copy viewers hear.
    redacted_spans: Mapped[list | None] = mapped_column(JSONType)
    # analysis.quality verdict on the transcript; "needs_review" withholds the score
    quality: Mapped[str] = mapped_column(sa.String(20), default="ok", server_default="ok", index=True)
    quality_reasons: Mapped[list | None] = mapped_column(JSONType)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)

    file = relationship("FileProcessingRecord", back_populates="sales_call")
    customer = relationship("Customer", back_populates="calls")
