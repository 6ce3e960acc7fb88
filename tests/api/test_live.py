"""Live status over real HTTP: an SSE client and a WebSocket client, both authenticated with
a bearer token, receive the status changes a real worker process makes."""

import json
import queue
import threading

import pytest
import requests
import websocket

from tests.support.helpers import wait_for


def sse_reader(url, token, out, stop):
    with requests.get(
        url, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}, stream=True, timeout=30
    ) as answer:
        out.put(("status", answer.status_code, answer.headers.get("Content-Type")))
        event = None
        for line in answer.iter_lines(decode_unicode=True):
            if stop.is_set():
                return
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                out.put((event, json.loads(line[6:])))


def collect_until(out, predicate, timeout=60, seen=None):
    seen = [] if seen is None else seen

    def done():
        while not out.empty():
            seen.append(out.get())
        return predicate(seen)

    wait_for(done, timeout=timeout, message="live events")
    return seen


@pytest.mark.slow
def test_sse_and_websocket_clients_see_a_real_workers_changes(api, tokens, live_server, folder_id, workers):
    sse, stop = queue.Queue(), threading.Event()
    threading.Thread(
        target=sse_reader, args=(live_server + "/api/batch/status/stream", tokens["viewer"], sse, stop), daemon=True
    ).start()
    ws = websocket.create_connection(
        live_server.replace("http", "ws") + "/api/batch/status",
        header=[f"Authorization: Bearer {tokens['viewer']}"],
        timeout=30,
    )
    first = json.loads(ws.recv())
    assert first["type"] == "snapshot" and "totals" in first
    ws_messages = queue.Queue()

    def ws_reader():
        try:
            while True:
                ws_messages.put(json.loads(ws.recv()))
        except Exception:
            return

    threading.Thread(target=ws_reader, daemon=True).start()
    sse_events = collect_until(sse, lambda seen: any(e[0] == "snapshot" for e in seen), timeout=15)

    created = api.post("manager", "/api/batch/jobs", json={"folder_id": folder_id})
    assert created.status_code == 201
    job_id = created.get_json()["job"]["id"]
    workers(1)

    def completed(items):
        files = {m["file_id"] for m in items if m.get("type") == "file" and m["status"] == "completed"}
        jobs = [m for m in items if m.get("type") == "job" and m["job_id"] == job_id and m["status"] == "completed"]
        return len(files) == 2 and jobs

    seen_ws = collect_until(ws_messages, completed)
    collect_until(sse, lambda seen: completed([s[1] for s in seen if s[0] in ("file", "job")]), seen=sse_events)
    stop.set()
    ws.close()
    transitions = [(m["from"], m["status"]) for m in seen_ws if m.get("type") == "file"]
    assert ("queued", "processing") in transitions and ("processing", "completed") in transitions
    done = [m for m in seen_ws if m.get("type") == "job" and m["status"] == "completed"][-1]
    assert done["processed_files"] == 2 and done["progress"] == 100
    assert sse_events[0] == ("status", 200, "text/event-stream; charset=utf-8")
    assert {e[0] for e in sse_events[1:]} >= {"snapshot", "file", "job"}


def test_streams_refuse_without_a_token(live_server, tokens):
    answer = requests.get(live_server + "/api/batch/status/stream", timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "UNAUTHORIZED"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(live_server.replace("http", "ws") + "/api/batch/status", timeout=10)
    assert refused.value.status_code == 401
    snapshot = requests.get(
        live_server + "/api/batch/status", headers={"Authorization": f"Bearer {tokens['viewer']}"}, timeout=10
    ).json()
    assert set(snapshot) >= {"totals", "jobs", "recent_errors", "paused", "throughput_per_hour"}
