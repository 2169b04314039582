"""Runs a generated loader: every key seen per epoch with 0 and 2 workers, and the split across two ranks."""
import importlib.util
import json
import sys


def keys_of(loader):
    seen = []
    for batch in loader:
        assert batch["data"] is not None
        seen.extend(batch["key"])
    return seen


def main(path: str) -> None:
    spec = importlib.util.spec_from_file_location("generated_loader", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = {
        "workers0": keys_of(module.make_loader(4, num_workers=0)),
        "workers2": keys_of(module.make_loader(4, num_workers=2)),
        "rank0": keys_of(module.make_loader(4, num_workers=0, rank=0, world_size=2)),
        "rank1": keys_of(module.make_loader(4, num_workers=0, rank=1, world_size=2)),
    }
    first = next(iter(module.make_loader(4, num_workers=0)))
    result["batchShape"] = list(first["data"].shape) if hasattr(first["data"], "shape") else None
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
