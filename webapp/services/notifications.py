"""What the Notifications pages, the JSON API and the CLI call. Secrets are sealed on the way
in and masked on the way out; every change leaves an audit_log row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from ..crypto import masked, seal, unseal
from ..errors import CODES
from ..extensions import db
from ..models import AuditLog, ExternalFolder, NotificationConfig, NotificationDelivery
from ..models import notification as n
from ..models.types import iso
from ..notifications import NOTIFIERS, dispatch
from ..notifications.base import Message
from ..notifications.conditions import CONDITIONS, language, url
from .provider_forms import provider_forms

EDITABLE = (
    "name",
    "type",
    "config",
    "conditions",
    "folder_ids",
    "error_codes",
    "cooldown_minutes",
    "stall_minutes",
    "enabled",
    "language",
)
LANGUAGES = ("en", "he")


def providers() -> list[dict[str, Any]]:
    """The registry as forms can draw it: type, label and fields of each channel."""
    return provider_forms(NOTIFIERS)


def conditions() -> list[dict[str, str]]:
    return [{"name": key, "label": str(label)} for key, (label, _what, _severity) in CONDITIONS.items()]


def list_configs() -> list[dict[str, Any]]:
    configs = db.session.scalars(sa.select(NotificationConfig).order_by(NotificationConfig.name)).all()
    return [view(config) for config in configs]


def get_config(config_id: int) -> NotificationConfig | None:
    return db.session.get(NotificationConfig, config_id)


def view(config: NotificationConfig) -> dict[str, Any]:
    """A config as a page or API response may show it: secrets masked, last delivery attached."""
    secrets = NOTIFIERS[config.type].secret_fields() if config.type in NOTIFIERS else ()
    D = NotificationDelivery
    last = db.session.scalars(
        sa.select(D).where(D.config_id == config.id, D.status != n.SUPPRESSED).order_by(D.id.desc()).limit(1)
    ).first()
    return {
        "id": config.id,
        "name": config.name,
        "type": config.type,
        "config": masked(config.config, secrets),
        "conditions": list(config.conditions or []),
        "folder_ids": config.folder_ids,
        "error_codes": config.error_codes,
        "cooldown_minutes": config.cooldown_minutes,
        "stall_minutes": config.stall_minutes,
        "enabled": config.enabled,
        "language": config.language,
        "created_at": iso(config.created_at),
        "updated_at": iso(config.updated_at),
        "last_delivery": delivery_view(last) if last else None,
    }


def create_config(
    data: Mapping[str, Any], actor: str = "system", user_id: int | None = None
) -> tuple[NotificationConfig, list[dict[str, str]]]:
    """Returns (config, errors); errors is a list of {"field", "message"} and nothing is saved
    when it is not empty."""
    config = NotificationConfig()
    return _save(config, data, actor, user_id, "notification.create")


def update_config(
    config: NotificationConfig, data: Mapping[str, Any], actor: str = "system", user_id: int | None = None
) -> tuple[NotificationConfig, list[dict[str, str]]]:
    """Change the given keys only. A secret left blank (or sent back masked) keeps its value."""
    return _save(config, data, actor, user_id, "notification.update")


def set_enabled(
    config: NotificationConfig, enabled: bool, actor: str = "system", user_id: int | None = None
) -> tuple[NotificationConfig, list[dict[str, str]]]:
    return _save(
        config, {"enabled": bool(enabled)}, actor, user_id, "notification.enable" if enabled else "notification.disable"
    )


def delete_config(config: NotificationConfig, actor: str = "system", user_id: int | None = None) -> None:
    """Delete a config and its delivery history."""
    _audit("notification.delete", config, actor, user_id, before=view(config))
    db.session.delete(config)
    db.session.commit()


def send_test(
    config: NotificationConfig, wait: bool = False, actor: str = "system", user_id: int | None = None
) -> NotificationDelivery:
    """Queue a test message to the config's channel and return its delivery row; the worker
    sends it (once, without retries). `wait=True` sends it here instead (the CLI does)."""
    message = _test_message(config)
    delivery = NotificationDelivery(
        config_id=config.id,
        condition="test",
        kind=n.TEST,
        status=n.PENDING,
        summary=message.title,
        payload={"message": message.to_dict()},
    )
    db.session.add(delivery)
    db.session.flush()
    _audit("notification.test", config, actor, user_id, after={"delivery_id": delivery.id})
    db.session.commit()
    if wait:
        dispatch.deliver(delivery.id, retry=False)
    else:
        dispatch.enqueue(delivery.id)
    return db.session.get(NotificationDelivery, delivery.id, populate_existing=True)


def _test_message(config):
    """The test message, in the config's language."""
    with force_locale(language(config)):
        return Message(
            condition="test",
            title=_("Callbatch: test notification"),
            text=_(
                "This is a test of the notification '%(name)s'. If you can read it, the channel works.",
                name=config.name,
            ),
            facts=[[_("Channel"), str(NOTIFIERS[config.type].label)]],
            links=[[_("Open Callbatch"), url("/")]],
            severity="info",
        )


def history(
    config_id: int | None = None, status: str | None = None, limit: int = 100, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Delivery history, newest first: every attempt, every held (suppressed) event. Page with
    `before_id` = the last id of the previous page."""
    D = NotificationDelivery
    query = sa.select(D).order_by(D.id.desc()).limit(limit)
    if config_id:
        query = query.where(D.config_id == config_id)
    if status:
        query = query.where(D.status == status)
    if before_id:
        query = query.where(D.id < before_id)
    return [delivery_view(d) for d in db.session.scalars(query)]


def get_delivery(delivery_id: int) -> dict[str, Any] | None:
    delivery = db.session.get(NotificationDelivery, delivery_id, populate_existing=True)
    return delivery_view(delivery) if delivery else None


def delivery_view(d: NotificationDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "config_id": d.config_id,
        "condition": d.condition,
        "kind": d.kind,
        "status": d.status,
        "attempt": d.attempt,
        "retry_of_id": d.retry_of_id,
        "digest_id": d.digest_id,
        "event_count": d.event_count,
        "summary": d.summary,
        "error": d.error,
        "created_at": iso(d.created_at),
        "sent_at": iso(d.sent_at),
    }


def validate(
    data: Mapping[str, Any], previous: NotificationConfig | None = None
) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
    """Errors of a config document ([] when it can be saved) and the cleaned values."""
    merged = {key: getattr(previous, key) for key in EDITABLE} if previous else {}
    merged.update({key: value for key, value in data.items() if key in EDITABLE})
    errors = []

    def error(field, message):
        errors.append({"field": field, "message": message})

    name = str(merged.get("name") or "").strip()
    if not name or len(name) > 200:
        error("name", "Give the notification a name (up to 200 characters).")
    kind = merged.get("type")
    if kind not in NOTIFIERS:
        error("type", f"Choose a channel: {', '.join(NOTIFIERS)}.")
        return errors, None
    sealed = _sealed_config(kind, merged.get("config"), previous, error)
    chosen = _conditions(merged.get("conditions"), error)
    folder_ids = _folder_ids(merged.get("folder_ids"), error)
    codes = _error_codes(merged.get("error_codes"), error)
    cooldown = _bounded(merged.get("cooldown_minutes", 10), 0, 1440, "cooldown_minutes", error)
    stall = _bounded(merged.get("stall_minutes", 30), 1, 1440, "stall_minutes", error)
    language = merged.get("language") or None
    if language is not None and language not in LANGUAGES:
        error("language", "Language must be en or he (or empty for the installation's language).")
    cleaned = {
        "name": name,
        "language": language,
        "type": kind,
        "config": sealed,
        "conditions": chosen,
        "folder_ids": folder_ids,
        "error_codes": codes,
        "cooldown_minutes": cooldown,
        "stall_minutes": stall,
        "enabled": bool(merged.get("enabled", True)),
    }
    return errors, cleaned


def _sealed_config(kind, given, previous, error):
    """The channel's settings as given, blanks left out and secrets sealed: a secret left blank
    (or sent back masked) keeps the stored one."""
    if previous and previous.type != kind:
        previous_config = {}  # secrets of another channel type never carry over
    else:
        previous_config = previous.config if previous else {}
    notifier = NOTIFIERS[kind]
    given = {f.name: (given or {}).get(f.name) for f in notifier.fields}
    given = {k: (v.strip() if isinstance(v, str) else v) for k, v in given.items() if v not in (None, "")}
    sealed = seal(given, notifier.secret_fields(), previous_config)
    for message in notifier.validate_config(unseal(sealed, notifier.secret_fields())):
        error("config", message)
    return sealed


def _conditions(values, error):
    chosen = list(values or [])
    if not chosen:
        error("conditions", "Choose at least one condition.")
    for condition in chosen:
        if condition not in CONDITIONS:
            error("conditions", f"'{condition}' is not a condition.")
    return chosen


def _folder_ids(values, error):
    folder_ids = _ints(values, "folder_ids", error)
    if folder_ids:
        known = set(db.session.scalars(sa.select(ExternalFolder.id).where(ExternalFolder.id.in_(folder_ids))))
        for missing in sorted(set(folder_ids) - known):
            error("folder_ids", f"There is no folder {missing}.")
    return folder_ids


def _error_codes(values, error):
    codes = list(values or []) or None
    for code in codes or []:
        if code not in CODES:
            error("error_codes", f"'{code}' is not an error code.")
    return codes


def _save(config, data, actor, user_id, action):
    errors, cleaned = validate(data, previous=config if config.id else None)
    if errors:
        db.session.rollback()
        return config, errors
    before = view(config) if config.id else None
    for key, value in cleaned.items():
        setattr(config, key, value)
    db.session.add(config)
    db.session.flush()
    _audit(action, config, actor, user_id, before=before, after=view(config))
    db.session.commit()
    return config, []


def _audit(action, config, actor, user_id, **values):
    """Add the audit row of a change to `config` (`values`: its before and/or after); the
    caller commits it."""
    db.session.add(
        AuditLog(
            actor=actor,
            user_id=user_id,
            action=action,
            target_type="notification",
            target_id=str(config.id),
            **values,
        )
    )


def _ints(values, field, error):
    if not values:
        return None
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        error(field, "Folders must be given by their ids.")
        return None


def _bounded(value, low, high, field, error):
    try:
        number = int(value)
    except (TypeError, ValueError):
        error(field, "Must be a whole number of minutes.")
        return low
    if not low <= number <= high:
        error(field, f"Must be between {low} and {high} minutes.")
    return number
