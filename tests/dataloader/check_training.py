"""Checks that a generated loader trains: `labels`, `shapes`, `anchor ROOT`, `transforms OUT.pt` and `resume` print JSON."""
import importlib.util
import json
import sys

import torch


def load(path):
    spec = importlib.util.spec_from_file_location("generated_loader", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def labels(module):
    """Every sample's label and the class names, with 0 and 2 workers."""
    out = {"classes": None}
    for workers in (0, 2):
        pairs = []
        for batch in module.make_loader(4, num_workers=workers):
            assert batch["label"].dtype == torch.int64 and batch["label"].shape == (len(batch["key"]),)
            pairs.extend(zip(batch["key"], batch["label"].tolist()))
        out[f"workers{workers}"] = pairs
    out["classes"] = list(module.CLASSES)
    return out


def shapes(module):
    """Batch shapes and dtypes for training and evaluation transforms, and which transforms were used."""
    out = {"transforms": module.TRANSFORMS, "batches": []}
    for train in (True, False):
        for batch in module.make_loader(4, num_workers=0, train=train, shuffle=False):
            out["batches"].append({"train": train, "shape": list(batch["data"].shape), "dtype": str(batch["data"].dtype), "labels": list(batch["label"].shape)})
    custom = next(iter(module.make_loader(2, num_workers=0, transform=lambda image: image.mode)))
    out["customInput"] = custom["data"]
    return out


def transforms(module, out_path):
    """The default transforms' output for every image, from one torch seed, saved for comparison."""
    torch.manual_seed(0)
    result = {}
    for train in (True, False):
        for batch in module.make_loader(64, num_workers=0, train=train, shuffle=False):
            result[str(train)] = batch["data"]
    torch.save(result, out_path)
    return {"transforms": module.TRANSFORMS}


def anchor(module, root):
    """Against torchvision's ImageFolder with the usual evaluation transforms: its targets, and our tensors' distance."""
    import os

    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    size = module.IMAGE_SIZE
    reference = ImageFolder(root, transform=T.Compose([T.Resize(round(size / 0.875)), T.CenterCrop(size), T.ToTensor(), T.Normalize(module.MEAN, module.STD)]))
    batch = next(iter(module.make_loader(len(reference), num_workers=0, train=False, shuffle=False)))
    keys = [os.path.relpath(path, root) for path, _ in reference.samples]
    expected = torch.stack([reference[i][0] for i in range(len(reference))])
    difference = (batch["data"] - expected).abs().flatten(1).mean(1)
    return {
        "sameKeys": batch["key"] == keys,
        "sameLabels": batch["label"].tolist() == reference.targets,
        "sameClasses": list(module.CLASSES) == reference.classes,
        "meanAbsDifference": difference.tolist(),
    }


def keys_of(loader, batches=None):
    seen = []
    for index, batch in enumerate(loader):
        seen.extend(batch["key"])
        if batches is not None and index + 1 >= batches:
            break
    return seen


def resume(module):
    """Stop after k batches, save the state, restore it into a new loader: the rest of the epoch, exactly."""
    cases = []
    for workers in (0, 2):
        for world in (1, 2):
            for rank in range(world):
                for k in (1, 2):
                    make = lambda: module.make_loader(3, num_workers=workers, rank=rank, world_size=world, epoch=1)  # noqa: E731
                    full = keys_of(make())
                    first_loader = make()
                    first = keys_of(first_loader, k)
                    state = json.loads(json.dumps(first_loader.state_dict()))
                    restored = make()
                    restored.load_state_dict(state)
                    rest = keys_of(restored)
                    cases.append({"workers": workers, "world": world, "rank": rank, "k": k, "full": full, "first": first, "rest": rest, "state": state, "after": restored.state_dict()})
    try:
        module.make_loader(3, num_workers=0, rank=1, world_size=2).load_state_dict(cases[-1]["state"] | {"rank": 0})
        mismatch = None
    except ValueError as error:
        mismatch = str(error)
    return {"cases": cases, "mismatch": mismatch}


def main(mode, path, *rest):
    module = load(path)
    if mode == "transforms":
        print(json.dumps(transforms(module, rest[0])))
    elif mode == "anchor":
        print(json.dumps(anchor(module, rest[0])))
    else:
        print(json.dumps({"labels": labels, "shapes": shapes, "resume": resume}[mode](module)))


if __name__ == "__main__":
    main(*sys.argv[1:])
