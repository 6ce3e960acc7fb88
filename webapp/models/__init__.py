from .api import ApiToken, FolderHook, IdempotencyKey
from .audit import AuditLog
from .call import Customer, SalesCall
from .file import FileEvent, FileProcessingRecord, FileStatusCount
from .folder import ExternalFolder
from .job import BatchJob
from .notification import NotificationConfig, NotificationDelivery
from .settings import BatchSettings
from .setup import SetupStep
from .tracker import CallTrackerHit, Tracker
from .user import User

__all__ = [
    "ApiToken",
    "FolderHook",
    "IdempotencyKey",
    "AuditLog",
    "BatchJob",
    "BatchSettings",
    "CallTrackerHit",
    "Customer",
    "ExternalFolder",
    "FileEvent",
    "FileProcessingRecord",
    "FileStatusCount",
    "NotificationConfig",
    "NotificationDelivery",
    "SalesCall",
    "SetupStep",
    "Tracker",
    "User",
]
