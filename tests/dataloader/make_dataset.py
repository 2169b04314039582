"""Synthesizes a small dataset in one format and prints the keys a loader must yield, as JSON."""
import io
import json
import os
import sys
import tarfile

import numpy as np
from PIL import Image


# Uneven classes; images of mixed sizes and modes (greyscale, RGB, RGBA), JPEG and PNG.
CLASS_SIZES = {"ant": 5, "bee": 1, "cat": 9, "dog": 3}
MODES = ("RGB", "L", "RGBA", "RGB", "P")


def image_payload(i: int) -> tuple:
    mode = MODES[i % len(MODES)]
    size = (17 + (i * 37) % 301, 13 + (i * 53) % 257)
    # A gradient with noise, so that resampling differences would show.
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    noise = np.random.RandomState(i).randint(0, 40, (size[1], size[0], 4))
    pixels = np.stack([x * 255 // size[0], y * 255 // size[1], (x + y + i * 7) % 256, np.full_like(x, 200)], axis=-1) + noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGBA").convert(mode)
    extension = "png" if mode in ("RGBA", "P") or i % 4 == 0 else "jpg"
    buffer = io.BytesIO()
    image.save(buffer, format="PNG" if extension == "png" else "JPEG", quality=90)
    return extension, buffer.getvalue()


def image_classes(root: str) -> list:
    keys = []
    i = 0
    for name, count in CLASS_SIZES.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for _ in range(count):
            extension, payload = image_payload(i)
            with open(os.path.join(root, name, f"{i:05d}.{extension}"), "wb") as handle:
                handle.write(payload)
            keys.append(f"{name}/{i:05d}.{extension}")
            i += 1
    return keys


def image_shards(root: str) -> list:
    """Two shards of images: labels as .cls in the first, as .json in the second; the key's number is the label."""
    keys = []
    for s, label_member in enumerate(("cls", "json")):
        name = f"shard-{s}.tar"
        with tarfile.open(os.path.join(root, name), "w") as archive:
            for i in range(s * 5, s * 5 + 5):
                extension, payload = image_payload(i)
                label = str(i).encode() if label_member == "cls" else json.dumps({"label": i, "caption": "x"}).encode()
                for suffix, data in ((extension, payload), (label_member, label)):
                    info = tarfile.TarInfo(f"{i:05d}.{suffix}")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
                keys.append(f"{name}/{i:05d}")
    return keys


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
    if fmt == "image-classes":
        keys = image_classes(root)
    if fmt == "webdataset-images":
        keys = image_shards(root)
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
