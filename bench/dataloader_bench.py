"""Dataloader benchmark driver; each mode prints JSON.

  make-images ROOT N            N JPEGs of mixed sizes in class folders
  make-npy ROOT N               N small .npy arrays in folders
  pack IMAGES.py OUT            the image loader's pack_shards: shards of bounded JPEGs (.jpg + .cls), timed
  race ROOT SHARDS IMAGES.py SHARDS.py   samples/s, cold cache: torchvision ImageFolder vs the generated loaders
  npy ROOT NPY.py               samples/s of the generated npy loader, cold cache
  shards ROOT LOADER            MB/s of cat and of the generated loader over large shards, cold cache
"""
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

BATCH = 64
WORKERS = 2
CLASSES = 100


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files_under(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


def evict(root):
    """Cold page cache: drop_caches when permitted (root), else posix_fadvise(DONTNEED) on every file. Returns which."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as handle:
            handle.write("3\n")
        return "drop_caches"
    except OSError:
        for path in files_under(root):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        return "fadvise"


def timed(loader):
    start = time.perf_counter()
    samples = 0
    for batch in loader:
        data = batch["data"] if isinstance(batch, dict) else batch[0]
        samples += len(data)
    return samples, time.perf_counter() - start


def make_images(root, count):
    """Sides uniform in 96..640 px (mean ≈ ImageNet's), 5% greyscale, a smooth picture with noise; quality 85."""
    rng = np.random.RandomState(0)
    for i in range(count):
        folder = os.path.join(root, f"class-{i % CLASSES:03d}")
        os.makedirs(folder, exist_ok=True)
        width, height = rng.randint(96, 641, size=2)
        y, x = np.mgrid[0:height, 0:width]
        base = np.stack([x * 255 // width, y * 255 // height, (x + y + i) % 256], axis=-1)
        pixels = np.clip(base + rng.randint(0, 24, (height, width, 3)), 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "RGB")
        if i % 20 == 0:
            image = image.convert("L")
        image.save(os.path.join(folder, f"{i:06d}.jpg"), quality=85)
    return {"images": count, "bytes": sum(os.path.getsize(p) for p in files_under(root))}


def make_npy(root, count):
    for i in range(count):
        folder = os.path.join(root, f"part-{i % 20:02d}")
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, f"{i:06d}.npy"), np.full((3, 32, 32), i % 256, dtype=np.uint8))
    return {"arrays": count}


def pack(images_path, out):
    """The generated image loader's pack_shards: class folders → shards of bounded JPEGs (.jpg + .cls), timed."""
    start = time.perf_counter()
    meta = load(images_path).pack_shards(out)
    return {"packSeconds": time.perf_counter() - start, "maxSide": meta["maxSide"], "bytes": sum(os.path.getsize(p) for p in files_under(out))}


def race(root, shards, images_path, shards_path):
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    images, packed = load(images_path), load(shards_path)
    size = images.IMAGE_SIZE
    peer_transform = T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(images.MEAN, images.STD)])
    runs = {
        "imagefolder": lambda: DataLoader(ImageFolder(root, transform=peer_transform), batch_size=BATCH, shuffle=True, num_workers=WORKERS),
        "generatedFolders": lambda: images.make_loader(BATCH, num_workers=WORKERS),
        "generatedShards": lambda: packed.make_loader(BATCH, num_workers=WORKERS),
        "generatedShardsPeerTransform": lambda: packed.make_loader(BATCH, num_workers=WORKERS, transform=peer_transform),
    }
    out = {}
    for name, make in runs.items():
        out["evict"] = evict(root if name in ("imagefolder", "generatedFolders") else shards)
        samples, seconds = timed(make())
        out[name] = samples / seconds
        out[f"{name}Samples"] = samples
    return out


def npy(root, loader_path):
    module = load(loader_path)
    method = evict(root)
    samples, seconds = timed(module.make_loader(BATCH, num_workers=WORKERS))
    return {"npy": samples / seconds, "samples": samples, "evict": method}


def shards(root, loader_path):
    files = sorted(os.path.join(root, f) for f in os.listdir(root))
    total = sum(os.path.getsize(f) for f in files)
    evict(root)
    start = time.perf_counter()
    subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)
    cat_s = time.perf_counter() - start
    module = load(loader_path)
    method = evict(root)
    _samples, ours_s = timed(module.make_loader(4, num_workers=WORKERS))
    return {"catMBs": total / cat_s / 1e6, "oursMBs": total / ours_s / 1e6, "bytes": total, "evict": method}


def main(mode, *args):
    torch.set_num_threads(1)
    modes = {"make-images": lambda r, n: make_images(r, int(n)), "make-npy": lambda r, n: make_npy(r, int(n)), "pack": pack, "race": race, "npy": npy, "shards": shards}
    print(json.dumps(modes[mode](*args)))


if __name__ == "__main__":
    main(*sys.argv[1:])
