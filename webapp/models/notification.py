import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class NotificationConfig(db.Model):
    """Who hears about what, on which channel. The channel type keys the notifier registry."""

    __tablename__ = "notification_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(30))
    config: Mapped[dict] = mapped_column(JSONType, default=dict)
    conditions: Mapped[list] = mapped_column(JSONType, default=list)
    folder_ids: Mapped[list | None] = mapped_column(JSONType)
    error_codes: Mapped[list | None] = mapped_column(JSONType)
    cooldown_minutes: Mapped[int] = mapped_column(default=10)
    stall_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    enabled: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str | None] = mapped_column(sa.String(5))  # its messages' language; None: CALLBATCH_LANGUAGE
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    deliveries = relationship("NotificationDelivery", back_populates="config", passive_deletes=True)


# Delivery kinds and statuses
MESSAGE = "message"  # one event, sent as it happened
DIGEST = "digest"  # the events gathered during a cooldown window
TEST = "test"  # a person pressed "Send test"
PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SUPPRESSED = "suppressed"  # inside a cooldown window: carried by the next digest


class NotificationDelivery(db.Model):
    """One attempt to tell a channel something, or one event held back for a digest."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (sa.Index("ix_deliveries_config_condition_created", "config_id", "condition", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_configs.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(20), default=MESSAGE)
    status: Mapped[str] = mapped_column(sa.String(20), default=PENDING, index=True)
    attempt: Mapped[int] = mapped_column(default=1)
    retry_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notification_deliveries.id", ondelete="SET NULL"))
    digest_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notification_deliveries.id", ondelete="SET NULL"), index=True
    )
    event_count: Mapped[int] = mapped_column(default=1)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    payload: Mapped[dict | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    sent_at = mapped_column(UTCDateTime)

    config = relationship("NotificationConfig", back_populates="deliveries")
