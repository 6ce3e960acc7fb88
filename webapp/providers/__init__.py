"""Provider registries: dicts keyed by the config's `type`. A provider is one module and
one entry here; it validates its own config and raises the project's typed errors."""

from .monitors import MONITORS
from .storage import STORAGE

__all__ = ["MONITORS", "STORAGE"]
