"""Customers: found or created from a call's metadata, their counters kept exact.

Linking takes the customer row's lock and recomputes its figures from the calls themselves,
so two workers filing calls of the same customer at once cannot lose an update."""

import sqlalchemy as sa

from ..extensions import db
from ..models import Customer, SalesCall
from ..models.types import utcnow


def link(call, meta):
    """Attach `call` (already flushed) to the customer `meta` names; returns the customer, or
    None when the metadata names no customer (the call stays unassigned)."""
    meta = meta or {}
    phone, external_id = meta.get("phone"), meta.get("external_id")
    if not phone and not external_id:
        return None
    _insert_if_missing(phone, external_id, meta.get("name"))
    customer = _find_locked(phone, external_id)
    if customer.name is None and meta.get("name"):
        customer.name = meta["name"]
    if customer.phone is None and phone and not _taken("phone", phone, customer.id):
        customer.phone = phone
    if customer.external_id is None and external_id and not _taken("external_id", external_id, customer.id):
        customer.external_id = external_id
    call.customer_id = customer.id
    db.session.flush()
    refresh(customer)
    return customer


def assign(call, customer):
    """Assign (or move) a call to a customer later, keeping both customers' figures right."""
    previous = call.customer_id
    call.customer_id = customer.id if customer else None
    db.session.flush()
    for customer_id in {previous, call.customer_id} - {None}:
        refresh(db.session.get(Customer, customer_id, with_for_update=True, populate_existing=True))


def refresh(customer):
    """Recompute a (locked) customer's counters from its calls."""
    calls = sa.select(SalesCall).where(SalesCall.customer_id == customer.id).subquery()
    count, first, last, average = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.min(calls.c.called_at),
            sa.func.max(calls.c.called_at),
            sa.func.avg(calls.c.overall_score),
        )
    ).one()
    latest = db.session.execute(
        sa.select(SalesCall.overall_score)
        .where(SalesCall.customer_id == customer.id)
        .order_by(SalesCall.called_at.desc().nulls_last(), SalesCall.id.desc())
        .limit(1)
    ).scalar()
    customer.call_count = count
    customer.first_call_at, customer.last_call_at = first, last
    customer.latest_score = latest
    customer.average_score = round(float(average), 1) if average is not None else None
    customer.updated_at = utcnow()
    db.session.flush()


def _insert_if_missing(phone, external_id, name):
    """Create the customer unless one with this phone or external id exists; never fails on a
    concurrent insert (ON CONFLICT DO NOTHING on PostgreSQL and SQLite alike)."""
    if db.session.scalar(sa.select(Customer.id).where(_matches(phone, external_id)).limit(1)):
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    db.session.execute(
        insert(Customer)
        .values(phone=phone, external_id=external_id, name=name, call_count=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing()
    )


def _find_locked(phone, external_id):
    rows = db.session.scalars(
        sa.select(Customer)
        .where(_matches(phone, external_id))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    by_external = [c for c in rows if external_id and c.external_id == external_id]
    return (by_external or rows)[0]


def _matches(phone, external_id):
    conditions = []
    if external_id:
        conditions.append(Customer.external_id == external_id)
    if phone:
        conditions.append(Customer.phone == phone)
    return sa.or_(*conditions)


def _taken(column, value, own_id):
    col = getattr(Customer, column)
    return db.session.scalar(sa.select(Customer.id).where(col == value, Customer.id != own_id).limit(1)) is not None
