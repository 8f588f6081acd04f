"""A run's checkpoint file: what ``torch.save`` writes of the loop's state, behind a header.

The header holds the SHA-256 of the payload and the identity of its run (``run_identity``, of the
run's config): a checkpoint that is damaged or that is another run's is refused, and the one
before it is tried (``load_latest``). The payload streams to the file, never whole in memory.
"""

from __future__ import annotations

import hashlib
import io
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from algos.errors import RunFailure
from algos.provenance.runs import (
    ResumeError,
    RunDir,
    atomic_write,
    config_identity,
    read_json,
)


class CheckpointError(RunFailure, RuntimeError):
    """A checkpoint that could not be written (a full disk, say)."""


_NUMPY_TAG = "__numpy_array__"


def _arrays_as_tensors(obj: Any) -> Any:
    """Wrap numpy arrays as tensors (sharing memory) so ``torch.save`` streams them to the file;
    pickled numpy arrays are copied into memory two or three times first (+70 MB at a full
    100K replay)."""
    if isinstance(obj, dict):
        return {k: _arrays_as_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_arrays_as_tensors(v) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return {_NUMPY_TAG: torch.from_numpy(np.ascontiguousarray(obj))}
    return obj


def _tensors_as_arrays(obj: Any) -> Any:
    """Inverse of ``_arrays_as_tensors``."""
    if isinstance(obj, dict):
        if _NUMPY_TAG in obj:
            return obj[_NUMPY_TAG].numpy()
        return {k: _tensors_as_arrays(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_tensors_as_arrays(v) for v in obj)
    return obj


_CHECKPOINT_MAGIC = b"diiqn-checkpoint 1\n"


def _checkpoint_header(digest: str, identity: str) -> bytes:
    return _CHECKPOINT_MAGIC + f"sha256 {digest:0>64}\nrun {identity:0>64}\n".encode()


HEADER_SIZE = len(_checkpoint_header("", ""))


def run_identity(run_config: dict) -> str:
    """The identity of a run (``runs.config_identity``), which every checkpoint of the run
    carries."""
    return config_identity(run_config)


class _HashingWriter:
    """A file's ``write`` that hashes what goes through it."""

    def __init__(self, f):
        self.f, self.digest = f, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


def _write(f, state: dict, identity: str) -> None:
    """The header (its checksum filled in once the payload is written: the payload streams to
    the file, never whole in memory), then ``torch.save``'s bytes."""
    f.write(_checkpoint_header("", identity))
    writer = _HashingWriter(f)
    torch.save(state, writer)
    f.seek(0)
    f.write(_checkpoint_header(writer.digest.hexdigest(), identity))
    f.seek(0, io.SEEK_END)


class _Window(io.RawIOBase):
    """The rest of a file from ``start`` on, as a file of its own (for ``torch.load``)."""

    def __init__(self, f, start: int):
        self.f, self.start = f, start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos += self.start
        return self.f.seek(pos, whence) - self.start

    def tell(self) -> int:
        return self.f.tell() - self.start

    def readinto(self, buffer) -> int:
        return self.f.readinto(buffer)


class CheckpointRefused(ValueError):
    """A checkpoint that is damaged or not this run's."""


def read_checkpoint(path: Path) -> dict:
    """A checkpoint's state (numpy arrays as written) once its checksum holds, whoever's run it
    is: for inspection (tests, notebooks), never for resuming."""
    return _tensors_as_arrays(_load(Path(path), None, trust_unmarked=True))


def _load(path: Path, identity: str | None, trust_unmarked: bool) -> dict:
    """A checkpoint's state once its header says it is whole (its checksum) and this run's
    (``identity``; None: anyone's); a file without the header (the format before it) is read
    only where ``trust_unmarked``. ``CheckpointRefused`` says why not."""
    with open(path, "rb") as f:
        head = f.read(HEADER_SIZE)
        if head.startswith(_CHECKPOINT_MAGIC):
            try:
                _, digest_line, run_line, _ = head.split(b"\n")
                digest = digest_line.split(b" ")[1].decode()
                owner = run_line.split(b" ")[1].decode()
            except (ValueError, IndexError, UnicodeDecodeError):
                raise CheckpointRefused("its header is damaged") from None
            found = hashlib.sha256()
            for block in iter(lambda: f.read(1 << 20), b""):
                found.update(block)
            if found.hexdigest() != digest:
                raise CheckpointRefused("its checksum differs from its header's: the file was "
                                        "cut or changed after it was written")
            if identity is not None and owner != identity:
                raise CheckpointRefused("it is another run's (its config differs from this "
                                        "run's)")
            f.seek(HEADER_SIZE)
            source = _Window(f, HEADER_SIZE)
        elif not trust_unmarked:
            raise CheckpointRefused("a checkpoint of the older format, without its run's "
                                    "identity, and no config.json of this run beside it")
        else:
            f.seek(0)
            source = f
        # Our own file: it holds numpy RNG states and the like, so not weights_only.
        return torch.load(source, weights_only=False)



def save(run: RunDir, state: dict, identity: str) -> None:
    """Write ``state`` as ``run``'s checkpoint, marked as the run ``identity``'s. The last
    checkpoint becomes the previous one only once the new one is whole, so a kill or a full disk
    at any moment leaves at least one readable checkpoint (``OSError`` or ``RuntimeError`` if
    this one could not be written)."""
    atomic_write(run.checkpoint, lambda f: _write(f, _arrays_as_tensors(state), identity),
                 keep_previous=run.previous_checkpoint)


def resume_step(run: RunDir) -> int:
    """The step a resumed ``run`` starts from: that of the checkpoint ``load_latest`` would take
    (the last one that is whole and the run's own, by its ``config.json``), read without a word
    on stderr. ``ResumeError`` says why there is none."""
    try:
        identity = run_identity(read_json(run.config))
    except (OSError, ValueError) as err:
        raise ResumeError(f"{run.config}: cannot read it ({err})") from None
    errors = []
    for path in (run.checkpoint, run.previous_checkpoint):
        if path.exists():
            try:
                return int(_load(path, identity, trust_unmarked=True)["loop"]["step"])
            except Exception as err:  # as load_latest: any unreadable or refused file
                errors.append(f"{path.name}: {' '.join(str(err).split())[:160]}")
    raise ResumeError(f"no usable checkpoint in {run.checkpoint.parent} "
                      f"({'; '.join(errors) or 'none there'})")


def load_latest(run: RunDir, identity: str, trust_unmarked: bool = True) -> dict:
    """The state of ``run``'s last checkpoint that is whole and the run ``identity``'s, else of
    the one before it; ``ResumeError`` if neither is. ``trust_unmarked``: whether a checkpoint of
    the format before identities (no header) may be taken as this run's, which only a
    ``config.json`` beside it that matches this run can vouch for."""
    errors = []
    paths = [p for p in (run.checkpoint, run.previous_checkpoint) if p.exists()]
    for i, path in enumerate(paths):
        try:
            return _tensors_as_arrays(_load(path, identity, trust_unmarked))
        except Exception as err:  # any unreadable or refused file: try the previous one
            reason = " ".join(str(err).split())[:160]
            errors.append(f"{path.name}: {reason}")
            if i + 1 < len(paths):
                print(f"warning: cannot read checkpoint {path} ({reason}); trying the one "
                      "before it", file=sys.stderr)
    raise ResumeError(f"no usable checkpoint of this run in {run.checkpoint.parent} "
                      f"({'; '.join(errors)}); move the run folder away to start the run "
                      "anew") from None


def rng_states() -> dict:
    """Every global random generator's state (Python's, numpy's, torch's), for a checkpoint."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def set_rng_states(states: dict) -> None:
    """Put back what ``rng_states`` took."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
