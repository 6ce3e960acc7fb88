"""maxConcurrentFiles across every worker process: a lease set in Redis.

Each processing file holds a lease (a member of a sorted set scored by its expiry). A lease
that is not renewed (its worker died) expires, so a crash never leaks a slot."""

import time

from redis import Redis

ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
"""


class FileSlots:
    def __init__(self, redis: Redis, key: str, limit: int, lease_seconds: float) -> None:
        self.redis = redis
        self.key = key
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = redis.register_script(ACQUIRE)

    def try_acquire(self, token: str) -> bool:
        return bool(self._acquire(keys=[self.key], args=[token, self.lease_seconds, self.limit]))

    def acquire(self, token: str, wait_seconds: float) -> bool:
        """Wait up to `wait_seconds` for a slot; True when held."""
        deadline = time.monotonic() + wait_seconds
        pause = 0.02
        while True:
            if self.try_acquire(token):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def release(self, token: str) -> None:
        self.redis.zrem(self.key, token)

    def in_use(self) -> int:
        return self.redis.zcount(self.key, time.time(), "+inf")
