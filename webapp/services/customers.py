"""Customers: list and search, one customer's call history and score trend, creating one."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Customer, SalesCall, User
from ..models.types import iso
from . import Page, add_created, error, paginate


def list_customers(q: str | None = None, page: object = 1, per_page: object = 50) -> Page:
    query = sa.select(Customer).order_by(Customer.last_call_at.desc().nulls_last(), Customer.id.desc())
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            sa.or_(Customer.name.ilike(like), Customer.phone.ilike(like), Customer.external_id.ilike(like))
        )
    return paginate(query, page, per_page)


def search(q: str | None, limit: int = 20) -> list[Customer]:
    return list_customers(q, 1, limit).items


def get_customer(customer_id: int) -> Customer | None:
    return db.session.get(Customer, customer_id)


def history(customer: Customer) -> list[SalesCall]:
    """The customer's calls, oldest first."""
    return db.session.scalars(
        sa.select(SalesCall)
        .where(SalesCall.customer_id == customer.id)
        .order_by(SalesCall.called_at.asc().nulls_last(), SalesCall.id)
    ).all()


def trend(customer: Customer) -> list[tuple[int, datetime, float]]:
    """[(call id, when, overall score)] of the scored calls, oldest first: the trend chart's points."""
    return [
        (c.id, c.called_at or c.created_at, c.overall_score) for c in history(customer) if c.overall_score is not None
    ]


def trend_svg_points(
    points: list[tuple[int, datetime, float]], width: float = 600, height: float = 200, pad: float = 30
) -> list[dict[str, Any]]:
    """Screen coordinates for an inline SVG line chart of scores 0-100 over the calls."""
    if not points:
        return []
    n = len(points)
    step = (width - 2 * pad) / max(1, n - 1)
    return [
        {
            "x": round(pad + i * step if n > 1 else width / 2, 1),
            "y": round(height - pad - (score / 100) * (height - 2 * pad), 1),
            "call_id": call_id,
            "when": when,
            "score": score,
        }
        for i, (call_id, when, score) in enumerate(points)
    ]


def view(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "phone": customer.phone,
        "external_id": customer.external_id,
        "call_count": customer.call_count,
        "first_call_at": iso(customer.first_call_at),
        "last_call_at": iso(customer.last_call_at),
        "latest_score": customer.latest_score,
        "average_score": customer.average_score,
    }


def create_customer(
    data: dict[str, Any], user: User | None = None, commit: bool = True
) -> tuple[Customer | None, list[dict[str, str]]]:
    """Returns (customer, errors). Needs a name, a phone or an external id; phone and
    external id must be unique."""
    name = (data.get("name") or "").strip() or None
    phone = re.sub(r"[^\d+]", "", data.get("phone") or "") or None
    external_id = (data.get("external_id") or "").strip() or None
    errors = []
    if not (name or phone or external_id):
        errors.append(error("name", "Give the customer a name, a phone number or an external id."))
    if phone and db.session.scalar(sa.select(Customer.id).where(Customer.phone == phone)):
        errors.append(error("phone", f"A customer with phone {phone} already exists."))
    if external_id and db.session.scalar(sa.select(Customer.id).where(Customer.external_id == external_id)):
        errors.append(error("external_id", f"A customer with external id {external_id} already exists."))
    if errors:
        return None, errors
    customer = Customer(name=name, phone=phone, external_id=external_id, call_count=0)
    return add_created(customer, "customer.create", view, user, commit), []
