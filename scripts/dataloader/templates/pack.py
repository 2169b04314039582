import io
import json
import math
import os
import tarfile
from typing import Any, Dict, Optional

from PIL import Image

PACK_QUALITY: int = 90  # JPEG quality of the re-encoded images


def max_side_for(size: int) -> int:
    """The shorter side a packed image keeps: what the evaluation resize needs (256 for 224), FFCV's max_resolution idea."""
    return math.ceil(size * 256 / 224)


def bounded_jpeg(payload: bytes, max_side: int) -> bytes:
    """An image as JPEG bytes with its shorter side at most `max_side`; a JPEG already within it is kept as it is."""
    with Image.open(io.BytesIO(payload)) as image:
        width, height = image.size
        if image.format == "JPEG" and image.mode in ("RGB", "L") and min(width, height) <= max_side:
            return bytes(payload)
        factor = min(1.0, max_side / min(width, height))
        target = (max(1, round(width * factor)), max(1, round(height * factor)))
        image.draft("RGB", target)  # JPEG: decode at the smallest DCT scale still covering the target
        out = image.convert("RGB")
        if out.size != target:
            out = out.resize(target, Image.BICUBIC, reducing_gap=3.0)
        buffer = io.BytesIO()
        out.save(buffer, format="JPEG", quality=PACK_QUALITY)
        return buffer.getvalue()


def tar_member(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def pack_shards(out: str, per_shard: int = 1000, max_side: Optional[int] = None, seed: int = SEED) -> Dict[str, Any]:
    """This loader's images → WebDataset shards in `out` (shuffled once), each image bounded (bounded_jpeg) with its
    label as a `.cls` member; members keep the sample's key (`cat/0001.jpg` → `cat/0001.jpg` + `cat/0001.cls`).
    Writes `pack.json` ({maxSide, imageSize, samples, shards, classes}) beside the shards and returns it."""
    side = max_side_for(IMAGE_SIZE) if max_side is None else max_side
    prepare()
    keys = [key for key in list_keys() if is_image(key)]
    stems = [key.rsplit(".", 1)[0] for key in keys]
    if len(set(stems)) != len(stems):
        raise ValueError("pack_shards: two images share a name but for the extension; shard members would merge")
    labels = labels_for(keys)
    order = list(range(len(keys)))
    random.Random(seed).shuffle(order)
    os.makedirs(out, exist_ok=True)
    shards = 0
    for start in range(0, len(order), per_shard):
        with tarfile.open(os.path.join(out, f"shard-{shards:05d}.tar"), "w") as archive:
            for i in order[start : start + per_shard]:
                tar_member(archive, f"{stems[i]}.jpg", bounded_jpeg(read_object(keys[i]), side))
                if labels is not None:
                    tar_member(archive, f"{stems[i]}.cls", str(labels[i]).encode())
        shards += 1
    meta = {"maxSide": side, "imageSize": IMAGE_SIZE, "samples": len(keys), "shards": shards, "classes": list(CLASSES)}
    with open(os.path.join(out, "pack.json"), "w") as handle:
        json.dump(meta, handle)
    return meta
