import pytest

from tests.support.helpers import configure
from tests.support.recordings import write_calls


@pytest.fixture
def folder_id(api, tmp_path, ctx):
    """A local folder of two recordings, added through the API by an admin; its id."""
    configure(scanning={"fileSettleSeconds": 0})
    write_calls(tmp_path, 2)
    answer = api.post(
        "admin",
        "/api/batch/folders",
        json={"name": "calls", "storage_type": "local", "storage_config": {"path": str(tmp_path)}},
    )
    assert answer.status_code == 201
    return answer.get_json()["id"]
