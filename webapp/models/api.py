"""What the JSON API keeps: personal API tokens, idempotency keys of job-creating requests,
and the secret of each folder's inbound webhook."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class ApiToken(db.Model):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))  # the first characters, to recognise it in a list
    created_at = mapped_column(UTCDateTime, default=utcnow)
    expires_at = mapped_column(UTCDateTime)
    last_used_at = mapped_column(UTCDateTime)
    revoked_at = mapped_column(UTCDateTime)

    user = relationship("User")


class IdempotencyKey(db.Model):
    """The first answer to a job-creating request sent with an `Idempotency-Key` header."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    endpoint: Mapped[str] = mapped_column(sa.String(200))  # method and path
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the body
    status_code: Mapped[int | None]  # None while the first request runs
    response: Mapped[dict | None] = mapped_column(JSONType)
    created_at = mapped_column(UTCDateTime, default=utcnow, index=True)


class FolderHook(db.Model):
    """The inbound webhook of a folder: a secret (encrypted) that is both the URL token and
    the HMAC key external systems sign their announcements with."""

    __tablename__ = "api_folder_hooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("external_folders.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(sa.Text)  # crypto.encrypt()ed
    created_at = mapped_column(UTCDateTime, default=utcnow)
    last_used_at = mapped_column(UTCDateTime)
