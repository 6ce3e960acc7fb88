from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

# JSONB on PostgreSQL, JSON text on SQLite: one migration history for both.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow():
    return datetime.now(timezone.utc)


def iso(moment):
    """A datetime as ISO 8601 text for a page or the API; None stays None."""
    return moment.isoformat() if moment else None


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on both PostgreSQL and SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value
