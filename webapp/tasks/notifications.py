"""Notification jobs: turning events into deliveries, and one delivery attempt."""

from ..notifications import dispatch


def dispatch_notifications(events):
    return len(dispatch.dispatch(events))


def deliver_notification(delivery_id):
    return dispatch.deliver(delivery_id)
