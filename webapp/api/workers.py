"""GET /api/batch/workers: the Workers page's data (live workers, queues, scheduler, disk)."""

from ..services import workers as service
from . import bp
from .registry import operation

TAG = "workers"


@operation(bp, "GET", "/batch/workers", tag=TAG, summary="Live workers, queue depths and free disk", role="admin")
def list_workers():
    """Every live worker (host, pid, state, the files it is processing and since when, jobs
    done, resident memory and CPU seconds as of its last heartbeat), each queue's depth and
    delayed jobs, files waiting for a retry, the scheduler's last tick and the free space of
    the download directory."""
    return service.overview()
