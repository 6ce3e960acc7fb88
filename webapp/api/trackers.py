"""/api/batch/trackers: the phrase trackers counted in every call (a change is recounted in a worker)."""

from flask_login import current_user

from ..services import trackers as service
from . import bp
from .errors import checked, found
from .registry import operation
from .schemas import TrackerCreate, TrackerUpdate

TAG = "trackers"


def _tracker(tracker_id):
    return found(service.get_tracker(tracker_id), "tracker", tracker_id)


@operation(bp, "GET", "/batch/trackers", tag=TAG, summary="List trackers")
def list_trackers():
    return {"items": [service.view(t) for t in service.list_trackers()]}


@operation(
    bp, "POST", "/batch/trackers", tag=TAG, summary="Create a tracker", role="manager", body=TrackerCreate, status=201
)
def create_tracker(body):
    """Existing calls are counted in a worker; new calls are counted when they are filed."""
    return service.view(checked(service.create(body.model_dump(), user=current_user))), 201


@operation(bp, "GET", "/batch/trackers/<int:tracker_id>", tag=TAG, summary="Get a tracker")
def get_tracker(tracker_id):
    return service.view(_tracker(tracker_id))


@operation(
    bp,
    "PATCH",
    "/batch/trackers/<int:tracker_id>",
    tag=TAG,
    summary="Update a tracker",
    role="manager",
    body=TrackerUpdate,
)
def update_tracker(tracker_id, body):
    """Changed phrases are counted again in every call, in a worker."""
    tracker = checked(service.update(_tracker(tracker_id), body.model_dump(exclude_none=True), user=current_user))
    return service.view(tracker)


@operation(
    bp, "DELETE", "/batch/trackers/<int:tracker_id>", tag=TAG, summary="Delete a tracker", role="manager", status=204
)
def delete_tracker(tracker_id):
    service.delete(_tracker(tracker_id), user=current_user)
    return None, 204
