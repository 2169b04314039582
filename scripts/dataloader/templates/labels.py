import json
from typing import Dict, List, Optional

# Class names in index order (torchvision ImageFolder semantics: sorted class-folder names), or the
# manifest's label names. Known at generation when the data was readable; otherwise filled from the listing.
CLASSES: List[str] = "{{CLASSES}}"
# --labels manifest: sample key → class index (empty: labels come from class folders).
MANIFEST: Dict[str, int] = "{{MANIFEST}}"


def folder_classes(keys: List[str]) -> List[str]:
    """Sorted top-level folder names when every key sits in one; [] (unlabelled) otherwise."""
    if not keys or any("/" not in key for key in keys):
        return []
    return sorted({key.split("/", 1)[0] for key in keys})


def labels_for(keys: List[str]) -> Optional[List[int]]:
    """The label of each key: from the manifest, else its class folder; None when the data is unlabelled."""
    if MANIFEST:
        missing = [key for key in keys if key not in MANIFEST]
        if missing:
            raise KeyError(f"label manifest has no entry for key {missing[0]!r} ({len(missing)} keys missing); regenerate with a complete --labels file")
        return [MANIFEST[key] for key in keys]
    found = folder_classes(keys)
    if not found:
        return None
    if CLASSES and found != CLASSES:
        unknown = sorted(set(found) ^ set(CLASSES))
        raise ValueError(f"class folders changed since generation (e.g. {unknown[0]!r}); regenerate the loader so CLASSES matches")
    CLASSES[:] = found
    index = {name: i for i, name in enumerate(found)}
    return [index[key.split("/", 1)[0]] for key in keys]


def member_label(extension: str, payload: bytes | bytearray) -> Optional[int]:
    """A WebDataset label member: `.cls`/`.label` text, or `.json` with an integer "label" or "cls"."""
    if extension in ("cls", "label"):
        return int(bytes(payload).decode().strip())
    if extension == "json":
        value = json.loads(bytes(payload))
        label = value.get("label", value.get("cls")) if isinstance(value, dict) else None
        return label if isinstance(label, int) else None
    return None
