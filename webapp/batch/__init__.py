"""The batch layer: discovery and validation, the file status machine, retries, schedules.
It announces what happened through `signals`; higher layers listen (see docs/ARCHITECTURE.md)."""
