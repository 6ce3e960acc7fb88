"""Counting the trackers again in the calls already filed, after a tracker changed."""

from ..services import trackers


def recount_trackers(tracker_ids=None):
    return trackers.recount(tracker_ids)
