"""A provider registry (storage, notification channels, transcribers and scorers) as forms
draw it: each provider's type, label and fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def provider_forms(registry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{type, label, fields: [{name, label, kind, required, help, default, choices: [[value,
    label]]}]}], in the registry's order; labels as text in the reader's language."""
    return [
        {"type": key, "label": str(cls.label), "fields": [_field(f) for f in cls.fields]}
        for key, cls in registry.items()
    ]


def _field(f):
    return {
        "name": f.name,
        "label": str(f.label),
        "kind": f.kind,
        "required": f.required,
        "help": str(f.help),
        "default": f.default,
        "choices": [[c, c] if isinstance(c, str) else [str(part) for part in c] for c in f.choices],
    }
