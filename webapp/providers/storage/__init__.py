from .azure import AzureBlobStorage
from .gcs import GCSStorage
from .local import LocalStorage
from .s3 import S3Storage

STORAGE = {"local": LocalStorage, "s3": S3Storage, "azure": AzureBlobStorage, "gcs": GCSStorage}
