import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
