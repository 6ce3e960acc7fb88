"""/api/batch/notifications: channels (list, create, update, delete, send a test) and the
delivery history. Secrets are masked in every answer."""

from flask_login import current_user

from ..services import notifications as service
from . import bp
from .errors import checked, found
from .registry import operation
from .schemas import DeliveriesQuery, NotificationCreate, NotificationUpdate

TAG = "notifications"


def _config(config_id):
    return found(service.get_config(config_id), "notification", config_id)


def _actor():
    return current_user.email, current_user.id


@operation(bp, "GET", "/batch/notifications", tag=TAG, summary="List notification channels")
def list_notifications():
    items = service.list_configs()
    return {"items": items, "total": len(items)}


@operation(bp, "GET", "/batch/notifications/options", tag=TAG, summary="Channel types and conditions")
def notification_options():
    """The channel types (with their settings' fields) and the conditions a channel can follow."""
    return {"channels": service.providers(), "conditions": service.conditions()}


@operation(
    bp,
    "POST",
    "/batch/notifications",
    tag=TAG,
    summary="Create a notification channel",
    role="admin",
    body=NotificationCreate,
    status=201,
)
def create_notification(body):
    actor, user_id = _actor()
    return service.view(checked(service.create_config(body.model_dump(), actor=actor, user_id=user_id))), 201


@operation(bp, "GET", "/batch/notifications/<int:config_id>", tag=TAG, summary="Get a notification channel")
def get_notification(config_id):
    return service.view(_config(config_id))


@operation(
    bp,
    "PATCH",
    "/batch/notifications/<int:config_id>",
    tag=TAG,
    summary="Update a notification channel",
    role="admin",
    body=NotificationUpdate,
)
def update_notification(config_id, body):
    """Changes the fields sent; a secret left blank or sent back masked keeps its value."""
    actor, user_id = _actor()
    changes = body.model_dump(exclude_unset=True)
    return service.view(checked(service.update_config(_config(config_id), changes, actor=actor, user_id=user_id)))


@operation(
    bp,
    "PUT",
    "/batch/notifications/<int:config_id>",
    tag=TAG,
    role="admin",
    body=NotificationUpdate,
    summary="Update a notification channel (PUT, as the spec writes it)",
)
def put_notification(config_id, body):
    """The same update as PATCH: the fields sent are changed, the others kept."""
    return update_notification(config_id, body)


@operation(
    bp,
    "DELETE",
    "/batch/notifications/<int:config_id>",
    tag=TAG,
    summary="Delete a notification channel",
    role="admin",
    status=204,
)
def delete_notification(config_id):
    actor, user_id = _actor()
    service.delete_config(_config(config_id), actor=actor, user_id=user_id)
    return None, 204


@operation(
    bp,
    "POST",
    "/batch/notifications/<int:config_id>/test",
    tag=TAG,
    status=202,
    role="admin",
    summary="Send a test message",
)
def test_notification(config_id):
    """Queues a test message to the channel; its delivery (and outcome) shows in the history."""
    actor, user_id = _actor()
    delivery = service.send_test(_config(config_id), actor=actor, user_id=user_id)
    return service.delivery_view(delivery), 202


@operation(
    bp,
    "GET",
    "/batch/notifications/<int:config_id>/deliveries",
    tag=TAG,
    query=DeliveriesQuery,
    summary="A channel's delivery history",
)
def notification_deliveries(config_id, query):
    _config(config_id)
    items = service.history(config_id=config_id, status=query.status, limit=query.limit, before_id=query.before_id)
    return {"items": items, "next_before_id": items[-1]["id"] if len(items) == query.limit else None}
