"""/api/batch/folders: list, create, update, delete, test connection, scan now, preview, and
the folder's inbound webhook secret."""

from flask_login import current_user

from ..services import folders as service
from ..services import hooks
from . import bp
from .errors import ApiError, checked, found
from .registry import operation
from .schemas import FolderCreate, FolderTest, FolderUpdate

TAG = "folders"


def _folder(folder_id):
    return found(service.get_folder(folder_id), "folder", folder_id)


def _view(folder, counts=None):
    data = service.view(folder)
    data["file_counts"] = (counts or {}).get(folder.id, {})
    data["plan"] = service.plan_of(folder)
    return data


@operation(bp, "GET", "/batch/folders", tag=TAG, summary="List folders")
def list_folders():
    """Every folder with its connection status, last scan and file counts by status."""
    folders = service.list_folders()
    counts = service.file_counts([f.id for f in folders]) if folders else {}
    return {"items": [_view(f, counts) for f in folders], "total": len(folders)}


@operation(bp, "GET", "/batch/folders/types", tag=TAG, summary="Storage and monitor types")
def folder_types():
    """The storage providers (with their settings' fields), monitor types (how files are found) and
    processing modes (when found files are processed) a folder can use."""
    return {
        "storage_types": service.storage_types(),
        "monitor_types": service.monitor_types(),
        "process_modes": service.process_modes(),
    }


@operation(
    bp, "POST", "/batch/folders", tag=TAG, summary="Create a folder", role="admin", body=FolderCreate, status=201
)
def create_folder(body):
    return _view(checked(service.create_folder(body.model_dump(), user=current_user))), 201


@operation(bp, "GET", "/batch/folders/<int:folder_id>", tag=TAG, summary="Get a folder")
def get_folder(folder_id):
    folder = _folder(folder_id)
    return _view(folder, service.file_counts([folder.id]))


@operation(
    bp, "PATCH", "/batch/folders/<int:folder_id>", tag=TAG, summary="Update a folder", role="admin", body=FolderUpdate
)
def update_folder(folder_id, body):
    """Change the fields sent; a secret sent blank or masked keeps the stored one."""
    folder = checked(service.update_folder(_folder(folder_id), body.model_dump(exclude_unset=True), user=current_user))
    return _view(folder, service.file_counts([folder.id]))


@operation(
    bp,
    "PUT",
    "/batch/folders/<int:folder_id>",
    tag=TAG,
    summary="Update a folder (PUT, as the spec writes it)",
    role="admin",
    body=FolderUpdate,
)
def put_folder(folder_id, body):
    """The same update as PATCH: the fields sent are changed, the others kept; a secret sent
    blank or masked keeps the stored one."""
    return update_folder(folder_id, body)


@operation(bp, "DELETE", "/batch/folders/<int:folder_id>", tag=TAG, summary="Delete a folder", role="admin", status=204)
def delete_folder(folder_id):
    """Deletes the folder and its file records; the calls already filed stay."""
    service.delete_folder(_folder(folder_id), user=current_user)
    return None, 204


@operation(
    bp, "POST", "/batch/folders/<int:folder_id>/test", tag=TAG, summary="Test a folder's connection", role="manager"
)
def test_folder(folder_id):
    """Connects with the stored settings and keeps the result as the folder's connection status."""
    return service.test_connection(_folder(folder_id))


@operation(
    bp,
    "POST",
    "/batch/folders/test",
    tag=TAG,
    summary="Test storage settings before saving",
    role="admin",
    body=FolderTest,
)
def test_settings(body):
    return service.test_connection(storage_type=body.storage_type, storage_config=body.storage_config)


@operation(
    bp,
    "POST",
    "/batch/folders/<int:folder_id>/scan",
    tag=TAG,
    summary="Scan a folder now",
    role="manager",
    status=202,
    idempotent=True,
)
def scan_folder(folder_id):
    """Queues a scan (a worker runs it); its new files become a batch job. Send an
    Idempotency-Key to make a retried request queue only one scan."""
    folder = _folder(folder_id)
    if not folder.enabled:
        raise ApiError(409, f"Folder {folder.id} is disabled; enable it before scanning.")
    rq_job = service.scan_now(folder, user=current_user)
    return {"folder_id": folder.id, "queued": True, "scan_id": rq_job}, 202


@operation(
    bp, "GET", "/batch/folders/<int:folder_id>/preview", tag=TAG, summary="Preview a scan (dry run)", role="manager"
)
def preview_folder(folder_id):
    """What a scan would queue and skip now, and why; nothing is recorded."""
    return service.preview(_folder(folder_id))


@operation(
    bp, "GET", "/batch/folders/<int:folder_id>/webhook", tag=TAG, summary="The folder's inbound webhook", role="admin"
)
def get_webhook(folder_id):
    """Whether the folder has an inbound webhook, and its URL (without the secret)."""
    return hooks.view(_folder(folder_id))


@operation(
    bp,
    "POST",
    "/batch/folders/<int:folder_id>/webhook",
    tag=TAG,
    status=201,
    role="admin",
    summary="Create or rotate the folder's inbound webhook secret",
)
def rotate_webhook(folder_id):
    """Returns the secret once. External systems POST {"files": [...]} to
    /api/hooks/folders/{id} with `?token=<secret>` or an `X-Callbatch-Signature:
    sha256=<hex HMAC-SHA256 of the body>` header. Rotating invalidates the previous secret."""
    folder = _folder(folder_id)
    secret = hooks.rotate(folder, user=current_user)
    return {**hooks.view(folder), "secret": secret}, 201


@operation(
    bp,
    "DELETE",
    "/batch/folders/<int:folder_id>/webhook",
    tag=TAG,
    status=204,
    role="admin",
    summary="Remove the folder's inbound webhook",
)
def delete_webhook(folder_id):
    hooks.remove(_folder(folder_id), user=current_user)
    return None, 204
