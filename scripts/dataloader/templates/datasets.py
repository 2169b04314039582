import random
import tarfile
from typing import Any, Dict, Iterator, List, Optional

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, get_worker_info


class RankSampler(Sampler[int]):
    """A disjoint slice of the indices per rank; together the ranks cover every sample once per epoch.
    `skip` leaves out the first samples of this rank's slice (a resumed epoch)."""

    def __init__(self, size: int, rank: int, world_size: int, shuffle: bool = True) -> None:
        self.size, self.rank, self.world_size, self.shuffle = size, rank, world_size, shuffle
        self.epoch, self.seed, self.skip = 0, SEED, 0

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order: List[int] = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        return iter(order[self.rank :: self.world_size][self.skip :])

    def __len__(self) -> int:
        return max(0, len(range(self.rank, self.size, self.world_size)) - self.skip)


class FileDataset(Dataset):
    """One sample per stored file, with its label when the data is labelled."""

    def __init__(self, keys: List[str], labels: Optional[List[int]], transform: Optional[Transform]) -> None:
        self.keys, self.labels, self.transform = keys, labels, transform

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Sample:
        key = self.keys[index]
        sample: Sample = {"key": key, "data": decode(key, read_object(key), self.transform)}
        if self.labels is not None:
            sample["label"] = self.labels[index]
        return sample


def iter_tar(shard: str, transform: Optional[Transform], skip: int = 0) -> Iterator[Sample]:
    """Samples of one WebDataset-style shard, read sequentially: members sharing a stem form a sample.
    The first `skip` samples are passed over without being decoded."""
    current: Optional[Dict[str, Any]] = None
    stream = open_stream(shard)
    index = 0

    def finish(sample: Optional[Dict[str, Any]]) -> Optional[Sample]:
        nonlocal index
        if sample is None or "payload" not in sample:
            return None
        index += 1
        if index <= skip:
            return None
        name, payload = sample.pop("payload")
        sample["data"] = decode(name, payload, transform)
        key = sample["key"]
        if MANIFEST:
            if key not in MANIFEST:
                raise KeyError(f"label manifest has no entry for key {key!r}; regenerate with a complete --labels file")
            sample["label"] = MANIFEST[key]
        return sample

    # Random access on seekable files reads members directly; S3 streams are read front to back.
    with tarfile.open(fileobj=stream, mode="r:" if stream.seekable() else "r|*") as archive:
        for member in archive:
            if not member.isfile():
                continue
            stem, _, extension = member.name.rpartition(".")
            if current is None or current["key"] != f"{shard}/{stem}":
                done = finish(current)
                if done is not None:
                    yield done
                current = {"key": f"{shard}/{stem}"}
            extracted = archive.extractfile(member)
            payload = bytearray(member.size)
            if extracted is not None:
                extracted.readinto(payload)
            label = member_label(extension, payload)
            if label is not None:
                current["label"] = label
            elif "payload" not in current and extension not in ("cls", "label", "json"):
                current["payload"] = (member.name, payload)
    done = finish(current)
    if done is not None:
        yield done


def shard_of(key: str) -> str:
    """The shard a WebDataset sample key (`shard.tar/stem`) came from."""
    return key[: key.index(".tar/") + 4]


class ShardDataset(IterableDataset):
    """Tar shards (shuffled per epoch) split across ranks, then across each rank's loader workers.
    `skip` maps a shard to the samples of it already consumed (a resumed epoch)."""

    def __init__(self, shards: List[str], rank: int, world_size: int, shuffle: bool, transform: Optional[Transform]) -> None:
        self.shards, self.rank, self.world_size, self.shuffle, self.transform = shards, rank, world_size, shuffle, transform
        self.epoch, self.seed = 0, SEED
        self.skip: Dict[str, int] = {}

    def rank_shards(self) -> List[str]:
        order = list(self.shards)
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[Sample]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for shard in self.rank_shards()[worker::workers]:
            yield from iter_tar(shard, self.transform, self.skip.get(shard, 0))


class ResumableLoader(DataLoader):
    """A DataLoader that knows where it is: state_dict() after any batch, load_state_dict() into a new loader
    (same data, rank and world size), and the next pass yields exactly the samples of the epoch not yet
    consumed. A pass that runs to its end moves on to the next epoch."""

    def __init__(self, dataset: Any, sampler: Optional[RankSampler], *, epoch: int, seed: int, rank: int, world_size: int, **options: Any) -> None:
        super().__init__(dataset, sampler=sampler, **options)
        self.epoch, self.seed, self.rank, self.world_size = epoch, seed, rank, world_size
        self.position = 0  # samples of this epoch already handed out on this rank
        self.consumed: Dict[str, int] = {}  # shard-style: samples handed out per shard

    def set_epoch(self, epoch: int) -> None:
        """Starts `epoch` from its beginning (the DistributedSampler convention)."""
        self.epoch, self.position, self.consumed = epoch, 0, {}

    def state_dict(self) -> Dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, "rank": self.rank, "world_size": self.world_size, "shards": dict(self.consumed)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for field in ("rank", "world_size"):
            if state.get(field) != getattr(self, field):
                raise ValueError(f"load_state_dict: state is for {field} {state.get(field)}, this loader has {getattr(self, field)}")
        self.epoch, self.position, self.seed = int(state["epoch"]), int(state["position"]), int(state["seed"])
        self.consumed = {str(shard): int(count) for shard, count in state.get("shards", {}).items()}

    def __iter__(self) -> Iterator[Any]:
        target = self.sampler if isinstance(self.sampler, RankSampler) else self.dataset
        target.epoch, target.seed = self.epoch, self.seed
        if isinstance(target, RankSampler):
            target.skip = self.position
        else:
            target.skip = dict(self.consumed)
        for batch in super().__iter__():
            self.position += len(batch["key"])
            if isinstance(self.dataset, ShardDataset):
                for key in batch["key"]:
                    shard = shard_of(key)
                    self.consumed[shard] = self.consumed.get(shard, 0) + 1
            yield batch
        self.set_epoch(self.epoch + 1)
