from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class BatchSettings(db.Model):
    """The global batch configuration: one row, its JSON shaped like the exported document."""

    __tablename__ = "batch_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    config: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
