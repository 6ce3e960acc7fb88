"""The service layer: the business logic the pages (webapp.views) and the JSON API
(webapp.api) share. Plain functions taking plain data (dicts, ids, model instances) and
returning models, dicts or `(result, errors)` pairs, where `errors` is a list of
{"field", "message"} and nothing was saved when it is not empty.

Every function that changes something takes `user=None` (the acting User; in a request it
defaults to flask_login.current_user) and writes an audit_log row in the same commit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from .. import audit_log
from ..extensions import db
from ..models import User

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
NewRow = TypeVar("NewRow")  # the model instance add_created is given and returns


@dataclass
class Page:
    """One page of a list: `items` plus what a pager needs."""

    items: list
    total: int
    page: int
    per_page: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def clamp_page(page: object, per_page: object) -> tuple[int, int]:
    """Whole numbers in range, whatever a query string held."""
    try:
        page = max(1, int(page or 1))
    except (TypeError, ValueError):
        page = 1
    try:
        per_page = min(MAX_PER_PAGE, max(1, int(per_page or DEFAULT_PER_PAGE)))
    except (TypeError, ValueError):
        per_page = DEFAULT_PER_PAGE
    return page, per_page


def paginate(query: sa.Select, page: object = 1, per_page: object = DEFAULT_PER_PAGE, count: bool = True) -> Page:
    """Run `query` (a select of one entity) for one page. The total comes from a COUNT over
    the same filters without ordering."""
    page, per_page = clamp_page(page, per_page)
    total = 0
    if count:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=items, total=total, page=page, per_page=per_page)


def error(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "message": message}


def name_taken(model: type, name: str, row: object | None = None) -> bool:
    """Whether a row of `model` other than `row` has the name `name`."""
    other = db.session.scalar(sa.select(model.id).where(model.name == name))
    return bool(other) and (row is None or other != row.id)


def add_created(
    row: NewRow, action: str, view: Callable[[NewRow], dict[str, Any]], user: User | None = None, commit: bool = True
) -> NewRow:
    """Add a new row with the audit row of its creation (`view(row)` as what it became), and
    commit both unless `commit` is false (the caller's transaction goes on)."""
    db.session.add(row)
    db.session.flush()  # the row's id, for the audit row
    audit_log.record(action, row, after=view(row), user=user)
    if commit:
        db.session.commit()
    return row
