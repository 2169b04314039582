import os
from typing import BinaryIO, List


def list_keys() -> List[str]:
    """Every sample file under the data folder, as sorted relative paths."""
    root = data_root()
    keys: List[str] = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            key = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if is_sample(key):
                keys.append(key)
    return sorted(keys)


def read_object(key: str) -> bytes:
    with open(os.path.join(data_root(), key), "rb") as handle:
        return handle.read()


def list_shards() -> List[str]:
    root = data_root()
    shards: List[str] = []
    for folder, _dirs, files in os.walk(root):
        shards.extend(os.path.relpath(os.path.join(folder, n), root).replace(os.sep, "/") for n in files if n.endswith(".tar"))
    return sorted(shards)


def open_stream(shard: str) -> BinaryIO:
    return open(os.path.join(data_root(), shard), "rb", buffering=8 * 1024 * 1024)
