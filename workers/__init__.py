"""RQ job functions, the worker and the scheduler loop."""
