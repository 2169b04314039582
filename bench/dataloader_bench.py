"""Dataloader benchmark driver: `small ROOT LOADER` or `shards ROOT LOADER`; prints JSON."""
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time

import torch
from torch.utils.data import DataLoader, Dataset


def load(path):
    spec = importlib.util.spec_from_file_location("generated_loader", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NaiveFiles(Dataset):
    """One file per sample, read with open(): what a first script does."""

    def __init__(self, root):
        self.paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        with open(self.paths[index], "rb") as handle:
            return torch.frombuffer(bytearray(handle.read()), dtype=torch.uint8)


def drop_caches():
    """Cold page cache, so both sides read from disk as training does (needs root)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("3\n")


def timed(loader):
    start = time.perf_counter()
    samples = 0
    for batch in loader:
        data = batch["data"] if isinstance(batch, dict) else batch
        samples += len(data)
    return samples, time.perf_counter() - start


def pack(root, out, per_shard):
    """Packs the small files into WebDataset-style tar shards (what the recommendation asks for)."""
    os.makedirs(out, exist_ok=True)
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
    for s in range(0, len(paths), per_shard):
        with tarfile.open(os.path.join(out, f"shard-{s // per_shard:05d}.tar"), "w") as archive:
            for i, p in enumerate(paths[s : s + per_shard]):
                archive.add(p, arcname=f"{s + i:07d}.bin")


def main(mode, root, loader_path, extra):
    if mode == "small":
        start = time.perf_counter()
        pack(root, extra, 1000)
        pack_s = time.perf_counter() - start
        module = load(loader_path)
        drop_caches()
        naive_samples, naive_s = timed(DataLoader(NaiveFiles(root), batch_size=64))
        drop_caches()
        ours_samples, ours_s = timed(module.make_loader(64, num_workers=2))
        print(json.dumps({"naive": naive_samples / naive_s, "ours": ours_samples / ours_s, "packSeconds": pack_s, "samples": ours_samples, "naiveSamples": naive_samples}))
    else:
        files = sorted(os.path.join(root, f) for f in os.listdir(root))
        total = sum(os.path.getsize(f) for f in files)
        drop_caches()
        start = time.perf_counter()
        subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)
        cat_s = time.perf_counter() - start
        module = load(loader_path)
        drop_caches()
        _samples, ours_s = timed(module.make_loader(4, num_workers=2))
        print(json.dumps({"catMBs": total / cat_s / 1e6, "oursMBs": total / ours_s / 1e6, "bytes": total}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
