"""Synthesizes a small dataset in one format and prints the keys a loader must yield, as JSON."""
import io
import json
import os
import sys
import tarfile

import numpy as np
from PIL import Image


def main(fmt: str, root: str, count: int) -> None:
    keys = []
    for i in range(count):
        folder = os.path.join(root, f"part-{i % 3}")
        os.makedirs(folder, exist_ok=True)
        if fmt == "npy":
            np.save(os.path.join(folder, f"{i:05d}.npy"), np.full((8,), i, dtype=np.int64))
            keys.append(f"part-{i % 3}/{i:05d}.npy")
        elif fmt == "image":
            Image.new("RGB", (16, 12), (i % 256, 0, 0)).save(os.path.join(folder, f"{i:05d}.jpg"), quality=90)
            keys.append(f"part-{i % 3}/{i:05d}.jpg")
        elif fmt == "files":
            with open(os.path.join(folder, f"{i:05d}.bin"), "wb") as handle:
                handle.write(i.to_bytes(4, "little") * 4)
            keys.append(f"part-{i % 3}/{i:05d}.bin")
    if fmt == "webdataset":
        shards = 6
        for s in range(shards):
            name = f"shard-{s:03d}.tar"
            with tarfile.open(os.path.join(root, name), "w") as archive:
                for i in range(s, count, shards):
                    buffer = io.BytesIO()
                    np.save(buffer, np.full((8,), i, dtype=np.int64))
                    for suffix, payload in ((".npy", buffer.getvalue()), (".cls", str(i % 10).encode())):
                        info = tarfile.TarInfo(f"{i:05d}{suffix}")
                        info.size = len(payload)
                        archive.addfile(info, io.BytesIO(payload))
                    keys.append(f"{name}/{i:05d}")
    print(json.dumps(sorted(keys)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
