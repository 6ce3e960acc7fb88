import json
import os

import pytest


@pytest.fixture
def meta_for():
    """meta_for(folder, file_name, **meta) writes the recording's .meta.json sidecar."""

    def write(folder, file_name, **meta):
        stem = os.path.splitext(file_name)[0]
        with open(os.path.join(folder, stem + ".meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)

    return write
