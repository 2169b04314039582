import io
import os
from typing import Any, BinaryIO, Dict, List, Tuple

import boto3
from botocore.config import Config

RANGE_BYTES: int = 8 * 1024 * 1024
_clients: Dict[int, Any] = {}


def s3() -> Any:
    """One client per process, so each DataLoader worker has its own connections."""
    pid = os.getpid()
    if pid not in _clients:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        config = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=32, s3={"addressing_style": "path"} if endpoint else {})
        _clients[pid] = boto3.client("s3", endpoint_url=endpoint, config=config)
    return _clients[pid]


def location() -> Tuple[str, str]:
    bucket, _, prefix = DATA[len("s3://") :].partition("/")
    return bucket, prefix


def list_objects(suffix: str = "") -> List[str]:
    bucket, prefix = location()
    keys: List[str] = []
    for page in s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"][len(prefix) :]
            if key and not key.endswith("/") and key.endswith(suffix):
                keys.append(key)
    return sorted(keys)


def list_keys() -> List[str]:
    return [key for key in list_objects() if is_sample(key)]


def read_object(key: str) -> bytes:
    bucket, prefix = location()
    return s3().get_object(Bucket=bucket, Key=prefix + key)["Body"].read()


def list_shards() -> List[str]:
    return list_objects(".tar")


class RangedReader(io.RawIOBase):
    """Reads one object front to back with ranged GETs of RANGE_BYTES."""

    def __init__(self, key: str) -> None:
        self.bucket, prefix = location()
        self.key = prefix + key
        self.size = s3().head_object(Bucket=self.bucket, Key=self.key)["ContentLength"]
        self.position = 0
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self.buffer and self.position < self.size:
            end = min(self.position + RANGE_BYTES, self.size) - 1
            self.buffer = s3().get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{end}")["Body"].read()
            self.position = end + 1
        count = min(len(target), len(self.buffer))
        target[:count] = self.buffer[:count]
        self.buffer = self.buffer[count:]
        return count


def open_stream(shard: str) -> BinaryIO:
    return io.BufferedReader(RangedReader(shard), buffer_size=RANGE_BYTES)


def prepare() -> None:
    """Nothing to stage: every read goes to S3."""
