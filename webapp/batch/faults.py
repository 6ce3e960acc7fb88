"""A testing aid, off unless set: `CALLBATCH_FAULT_PAUSE_AT=stage:seconds[,stage:seconds…]`
makes a worker sleep at the named stages of every file, so that a test can kill it exactly
there. The stages, in the order a file meets them:

- dequeued: the worker took the job off the queue; RQ has not marked it started
- started: RQ marked the job started; the record is not claimed yet
- claim: the claim's UPDATE is sent, not committed
- file: the record is claimed and the recording fetched; nothing analysed yet
- commit: the call and the completion are written, not committed
- retry: a failure and its retry are committed, the retry's job not queued yet
"""

import functools
import logging
import os
import time

log = logging.getLogger(__name__)

STAGES = ("dequeued", "started", "claim", "file", "commit", "retry")


def pause_at(stage: str) -> None:
    seconds = _pauses().get(stage)
    if seconds:
        log.warning(
            "fault pause: process %d paused at %s for %s s (CALLBATCH_FAULT_PAUSE_AT)", os.getpid(), stage, seconds
        )
        time.sleep(seconds)


@functools.cache
def _pauses():
    pauses = {}
    for item in filter(None, os.environ.get("CALLBATCH_FAULT_PAUSE_AT", "").split(",")):
        stage, _, seconds = item.strip().partition(":")
        if stage not in STAGES:
            raise ValueError(f"CALLBATCH_FAULT_PAUSE_AT: unknown stage {stage!r} (one of {', '.join(STAGES)})")
        pauses[stage] = float(seconds or 0)
    return pauses
