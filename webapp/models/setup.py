import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class SetupStep(db.Model):
    """A step of the first-run setup guide an admin skipped or finished by hand (`state`:
    skipped | done). Steps the data already answers (a folder exists, a job ran) need no row;
    the row named `guide` with state `dismissed` hides the whole guide."""

    __tablename__ = "setup_steps"

    step: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(20))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
