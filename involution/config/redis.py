"""Redis cache settings: sizing and eviction fit for a cache, auth from a secret."""

from __future__ import annotations

from dataclasses import dataclass

from involution.config.reader import ConfigReader, SecretText
from involution.images import ImageRef

# A cache must evict rather than refuse writes: `noeviction` is deliberately not allowed.
EVICTION_POLICIES = (
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)
DEFAULT_REDIS_IMAGE = "redis:7.4.1-alpine"
DEFAULT_MAX_MEMORY_MB = 256
DEFAULT_EVICTION_POLICY = "allkeys-lru"
MIN_MAX_MEMORY_MB = 16


@dataclass(frozen=True)
class RedisSettings:
    """What the Redis component needs; the password stays a SecretText."""

    image: ImageRef
    max_memory_mb: int
    eviction_policy: str
    password: SecretText | None

    @property
    def container_memory_limit_mb(self) -> int:
        """Head room over maxmemory for fragmentation, buffers and the process itself."""
        return self.max_memory_mb + max(64, self.max_memory_mb // 2)


def read_redis(reader: ConfigReader, *, password_required: bool, environment: str) -> RedisSettings:
    password = reader.secret("redisPassword")
    if password is None and password_required:
        reader.problem(
            "redisPassword",
            None,
            f"required in {environment}: pulumi config set --secret involution:redisPassword "
            "<password>",
        )
    image = reader.image("redisImage", DEFAULT_REDIS_IMAGE, "the official redis image")
    memory = reader.integer("redisMaxMemoryMb", DEFAULT_MAX_MEMORY_MB, MIN_MAX_MEMORY_MB)
    policy = reader.text("redisEvictionPolicy") or DEFAULT_EVICTION_POLICY
    if policy not in EVICTION_POLICIES:
        reader.problem(
            "redisEvictionPolicy",
            policy,
            f"an eviction policy fit for a cache: {', '.join(EVICTION_POLICIES)}",
        )
        policy = DEFAULT_EVICTION_POLICY
    return RedisSettings(
        image=image, max_memory_mb=memory, eviction_policy=policy, password=password
    )
