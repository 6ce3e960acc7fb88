"""Where this test run finds the repository and the PostgreSQL and Redis it uses."""

import os
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_BASE = "redis://127.0.0.1:6379"
RUN_ID = uuid.uuid4().hex[:10]
