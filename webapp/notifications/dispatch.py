"""From events to deliveries: match configs, apply the cooldown (hold events for a digest),
and deliver with retries. Runs in RQ jobs (webapp.tasks.notifications), never in the file's path."""

import logging
import math
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .. import metrics, queues, redaction
from ..crypto import unseal
from ..errors import technical
from ..extensions import db
from ..models import BatchJob, ExternalFolder, NotificationConfig, NotificationDelivery
from ..models import job as job_status
from ..models import notification as n
from ..models.types import utcnow
from . import NOTIFIERS
from . import conditions as c
from .base import DeliveryError, Message
from .events import QUEUE

log = logging.getLogger(__name__)

DELIVER = "deliver_notification"


def dispatch(events, now=None):
    """Turn events into deliveries (sent now) or suppressed rows (sent in the next digest)."""
    now = now or utcnow()
    events = [e for e in (_resolve(e) for e in events) if e]
    if not events:
        return []
    # Always in id order: concurrent dispatch jobs then take the config row locks in one order.
    configs = db.session.scalars(
        sa.select(NotificationConfig).where(NotificationConfig.enabled).order_by(NotificationConfig.id)
    ).all()
    to_deliver = []
    for config in configs:
        windows = {}  # condition → when its cooldown window opened: one look per dispatch (a batch's burst)
        for event in events:
            if c.matches(config, event):
                delivery = _admit(config, event, now, windows)
                if delivery.status == n.PENDING:
                    to_deliver.append(delivery)
    db.session.commit()
    for delivery in to_deliver:
        enqueue(delivery.id)
    return to_deliver


def _resolve(event):
    """Fill in what the emitter did not look up: folder names, a finished job's outcome."""
    event = dict(event)
    if event["condition"] == "job_finished":
        job = db.session.get(BatchJob, event["job_id"])
        if job is None:
            return None
        failed = job.status in (job_status.COMPLETED_WITH_ERRORS, job_status.FAILED)
        event.update(
            condition=c.BATCH_FAILED if failed else c.BATCH_COMPLETED,
            folder_id=job.folder_id,
            counts={
                "total": job.total_files,
                "processed": job.processed_files,
                "failed": job.failed_files,
                "skipped": job.skipped_files,
                "cancelled": job.cancelled_files,
            },
        )
    if event.get("folder_id") and not event.get("folder_name"):
        folder = db.session.get(ExternalFolder, event["folder_id"])
        event["folder_name"] = folder.name if folder else f"folder #{event['folder_id']}"
    return event


def _admit(config, event, now, windows):
    condition = event["condition"]
    if condition not in windows:
        # The config row lock makes concurrent dispatch jobs take turns, so one window opens once.
        db.session.execute(sa.select(NotificationConfig.id).where(NotificationConfig.id == config.id).with_for_update())
        windows[condition] = _window_start(config, condition, now)
    if windows[condition] is not None:
        delivery = NotificationDelivery(
            config_id=config.id,
            condition=event["condition"],
            kind=n.MESSAGE,
            status=n.SUPPRESSED,
            summary=c.message(event, c.language(config)).title,
            payload={"event": event},
            created_at=now,
        )
    else:
        message = c.message(event, c.language(config))
        delivery = NotificationDelivery(
            config_id=config.id,
            condition=event["condition"],
            kind=n.MESSAGE,
            status=n.PENDING,
            summary=message.title,
            payload={"message": message.to_dict()},
            created_at=now,
        )
        db.session.add(delivery)
        db.session.flush()
        if config.cooldown_minutes:
            windows[condition] = now  # this message opens the window
        return delivery
    db.session.add(delivery)
    return delivery


def _window_start(config, condition, now):
    """When the cooldown window still open for (config, condition) began, or None."""
    if not config.cooldown_minutes:
        return None
    D = NotificationDelivery
    opened = db.session.scalar(
        sa.select(sa.func.max(D.created_at)).where(
            D.config_id == config.id,
            D.condition == condition,
            D.kind.in_((n.MESSAGE, n.DIGEST)),
            D.status != n.SUPPRESSED,
            D.attempt == 1,
        )
    )
    if opened and opened > now - timedelta(minutes=config.cooldown_minutes):
        return opened
    return None


def flush_digests(now=None):
    """Send one digest per (config, condition) whose cooldown window has closed on held events."""
    now = now or utcnow()
    D = NotificationDelivery
    groups = db.session.execute(
        sa.select(D.config_id, D.condition)
        .where(D.status == n.SUPPRESSED, D.digest_id.is_(None))
        .group_by(D.config_id, D.condition)
    ).all()
    sent = []
    for config_id, condition in groups:
        config = db.session.get(NotificationConfig, config_id, with_for_update=True)
        if config is None or _window_start(config, condition, now) is not None:
            db.session.commit()
            continue
        held = db.session.scalars(
            sa.select(D)
            .where(D.config_id == config_id, D.condition == condition, D.status == n.SUPPRESSED, D.digest_id.is_(None))
            .order_by(D.id)
        ).all()
        if held:
            sent.append(_digest(config, condition, held, now))
        db.session.commit()
    for delivery in sent:
        enqueue(delivery.id)
    return sent


def _digest(config, condition, held, now):
    events = [row.payload["event"] for row in held]
    minutes = max(config.cooldown_minutes, math.ceil((now - held[0].created_at).total_seconds() / 60))
    message = c.digest(condition, events, minutes, c.language(config))
    delivery = NotificationDelivery(
        config_id=config.id,
        condition=condition,
        kind=n.DIGEST,
        status=n.PENDING,
        event_count=len(events),
        summary=message.title,
        payload={"message": message.to_dict()},
        created_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    for row in held:
        row.digest_id = delivery.id
    return delivery


def enqueue(delivery_id, delay=None):
    q = queues.queue(QUEUE)
    options = dict(job_timeout=120, result_ttl=60, failure_ttl=86400)
    if delay:
        q.enqueue_in(timedelta(seconds=delay), queues.job(DELIVER), delivery_id, **options)
    else:
        q.enqueue(queues.job(DELIVER), delivery_id, **options)


def deliver(delivery_id, retry=True):
    """One attempt. A failure is recorded on this row and, while the retry delays last, a new
    pending row (the next attempt) is queued after its delay."""
    delivery = db.session.get(NotificationDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != n.PENDING:
        db.session.rollback()
        return None
    config = delivery.config
    if not config.enabled and delivery.kind != n.TEST:
        delivery.status, delivery.error = n.FAILED, "The notification was disabled before it was sent."
        db.session.commit()
        return delivery.status
    try:
        notifier = NOTIFIERS[config.type](unseal(config.config, NOTIFIERS[config.type].secret_fields()))
        notifier.send(Message.from_dict(delivery.payload["message"]))
    except Exception as exc:  # any channel failure ends in the history, never in the worker's log alone
        delivery.status, delivery.error = n.FAILED, _reason(exc)
        delivery.sent_at = utcnow()
        next_try = _schedule_retry(delivery) if retry and delivery.kind != n.TEST else None
        db.session.commit()
        metrics.delivery(config.type, n.FAILED)
        if next_try:
            enqueue(next_try[0].id, delay=next_try[1])
        return n.FAILED
    delivery.status, delivery.sent_at, delivery.error = n.SENT, utcnow(), None
    db.session.commit()
    metrics.delivery(config.type, n.SENT)
    return n.SENT


def _schedule_retry(delivery):
    delays = current_app.config["NOTIFY_RETRY_DELAYS"]
    if delivery.attempt > len(delays):
        return None
    retry = NotificationDelivery(
        config_id=delivery.config_id,
        condition=delivery.condition,
        kind=delivery.kind,
        status=n.PENDING,
        attempt=delivery.attempt + 1,
        retry_of_id=delivery.id,
        event_count=delivery.event_count,
        summary=delivery.summary,
        payload=delivery.payload,
    )
    db.session.add(retry)
    db.session.flush()
    return retry, delays[delivery.attempt - 1]


def _reason(exc):
    """The stored sentence: never a secret of the channel (the notifier noted them when it was built)."""
    text = str(exc) if isinstance(exc, DeliveryError) else technical(exc)
    return redaction.redact(text)[:2000]
