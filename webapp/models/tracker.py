import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class Tracker(db.Model):
    """A named list of phrases counted in every call (competitors, cancellation, price)."""

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    phrases: Mapped[list] = mapped_column(JSONType, default=list)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CallTrackerHit(db.Model):
    """How often a tracker's phrases were said in one call, and when (segment start times)."""

    __tablename__ = "call_tracker_hits"
    __table_args__ = (sa.UniqueConstraint("call_id", "tracker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_calls.id", ondelete="CASCADE"), index=True)
    tracker_id: Mapped[int] = mapped_column(sa.ForeignKey("trackers.id", ondelete="CASCADE"), index=True)
    count: Mapped[int] = mapped_column(default=0)
    times: Mapped[list] = mapped_column(JSONType, default=list)

    tracker = relationship("Tracker")
