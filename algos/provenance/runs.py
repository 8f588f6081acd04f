"""Run folders: atomic writes, provenance, and the files every run leaves behind.

A run folder (``results/runs/{game}/{algo}/{variant}/seed{seed}/``) holds ``config.json``,
``metrics.csv``, ``diagnostics.csv``, ``run.json``, ``checkpoint/state.pt`` (and the one before
it, ``state.prev.pt``) and, written last, ``summary.json``, whose presence means the run is
finished. Every file is written to a temporary name beside its target and renamed, so a run
killed at any moment leaves whole files only (and, at worst, a stale temporary file, removed
when the run resumes). A trainer holds ``.lock`` while it writes, so a second one stops at once.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from algos.errors import UserError
from algos.provenance import mkl_vendor

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the package runs from (its git work tree, where it is one)."""
CODE_STORE = Path("results") / "code"
"""Where the diffs of runs made from uncommitted code are kept, each once under its SHA-256,
relative to ``REPO_ROOT`` (committed with the runs that name them)."""
SOURCE_PATHS = ("algos", "workflow", "config", "Snakefile", "pyproject.toml")
"""What a run's results can depend on: new files here that git does not track yet go into the
diff too."""
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[BinaryIO], object],
                 keep_previous: Path | None = None) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``
    (the old ``path`` to ``keep_previous`` first, if given).

    Readers see the old file or the new one, never a partial one, whenever the process dies.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # a full disk fails here, not after the rename
        if keep_previous is not None and path.exists():
            os.replace(path, keep_previous)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


class FolderError(UserError, OSError):
    """A folder that cannot be created or written (``writable_folder``,
    ``atomic_write_folder``): the message names it."""


def atomic_write_folder(target: Path, fill: Callable[[Path], object],
                        keep: Callable[[str], bool] = lambda name: False) -> None:
    """Call ``fill(folder)`` on a new temporary folder beside ``target``, then put it in
    ``target``'s place in one step; the files of the old ``target`` for which ``keep(name)`` is
    true and that ``fill`` did not write are carried over first (mtimes kept).

    Whatever happens before the swap (an error, Ctrl-C, a kill), ``target`` is left as it was:
    the tools that rebuild committed folders (aggregates, figures) never leave them half
    written or deleted. A temporary folder a killed writer left is removed at the next write.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FolderError(f"--out {target}: cannot create this folder (File exists)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            if stale.name.endswith(".old.tmp") and not target.exists():
                os.replace(stale, target)  # killed between _swap_in's two renames
            else:
                shutil.rmtree(stale, ignore_errors=True)  # a killed writer's, never swapped in
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=".tmp"))
    except OSError as err:
        raise FolderError(f"--out {target}: cannot create this folder ({err.strerror})") \
            from None
    try:
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp creates 0700; give the usual permissions
        try:
            fill(tmp)
        except OSError as err:
            if err.filename is not None:
                raise
            # A writer that does not name its file (matplotlib's savefig on a full disk): the
            # folder being written is what the user can act on.
            raise OSError(err.errno, err.strerror or str(err), str(target)) from err
        if target.is_dir():
            for old in target.iterdir():
                if old.is_file() and keep(old.name) and not (tmp / old.name).exists():
                    shutil.copy2(old, tmp / old.name)
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the old folder after a swap, else the new one


def _swap_in(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, and the old ``target`` (if any) at ``new``: one
    ``renameat2(RENAME_EXCHANGE)`` where the system has it (Linux), so that no moment is
    without ``target``; elsewhere two renames."""
    if target.is_dir() and _exchange(new, target):
        return
    if target.is_dir():
        old = new.with_name(new.name.removesuffix(".tmp") + ".old.tmp")
        os.replace(target, old)
        os.replace(new, target)
        os.replace(old, new)
    else:
        os.replace(new, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux's ``renameat2`` with ``RENAME_EXCHANGE``); False where
    the system cannot."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    done = renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), exchange) == 0
    if not done and ctypes.get_errno() not in (errno.ENOSYS, errno.EINVAL):
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))
    return done


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_jsonable) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, to_json(data))


def read_json(path: Path) -> Any:
    with open(path) as f:
        return json.load(f)


def format_value(value: Any) -> str:
    """CSV cell: floats with 6 significant digits (stable across platforms), NaN as empty."""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{float(value):.6g}"
    return str(value)


def atomic_write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(row.get(c, "")) for c in columns])
    atomic_write_text(path, buffer.getvalue())


def read_csv_rows(path: Path, without: Sequence[str] = ()) -> list[dict[str, str]]:
    """The rows of a CSV file as written (strings), without the columns ``without``."""
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in without} for row in csv.DictReader(f)]


def first_difference(committed: list[dict[str, str]], again: list[dict[str, str]],
                     upto: int) -> str | None:
    """Where two runs' rows (``env_steps`` first) differ up to step ``upto``, in words; None
    where every row and column up to there is the same."""
    expected = [row for row in committed if int(row["env_steps"]) <= upto]
    for index, row in enumerate(expected):
        if index >= len(again):
            return f"has no row for step {row['env_steps']} when trained again"
        for column in [*row, *(c for c in again[index] if c not in row)]:
            if row.get(column) != again[index].get(column):
                return (f"at step {row['env_steps']}, {column}: {row.get(column)!r} in the run, "
                        f"{again[index].get(column)!r} trained again")
    return None


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=True).stdout


def git_commit() -> str | None:
    """The package's git commit, ``-dirty`` when the work tree has changes; None outside git."""
    try:
        commit = _git("rev-parse", "HEAD").strip()
        dirty = _git("status", "--porcelain", "--untracked-files=no").strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def code_diff() -> str:
    """What the work tree changes against its commit: ``git diff HEAD`` (binary-safe), then
    each source file git does not track yet, as a new file (``SOURCE_PATHS``)."""
    diff = _git("diff", "HEAD", "--binary")
    for name in _git("ls-files", "--others", "--exclude-standard", "--", *SOURCE_PATHS).split():
        new = subprocess.run(["git", "diff", "--no-index", "--binary", "/dev/null", name],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        diff += new.stdout  # exit status 1: the files differ, as they must
    return diff


def store_code_diff() -> str:
    """Keep ``code_diff()`` under its SHA-256 in ``CODE_STORE`` (once: the same diff is one
    file) and return its path relative to the checkout, as run.json names it; with the commit,
    it rebuilds the exact code of a run made from uncommitted changes
    (``git checkout COMMIT && git apply PATH``)."""
    diff = code_diff().encode()
    path = CODE_STORE / f"{hashlib.sha256(diff).hexdigest()}.diff"
    if not (REPO_ROOT / path).exists():
        atomic_write(REPO_ROOT / path, lambda f: f.write(diff))
    return str(path)


def provenance() -> dict:
    """Versions, commit and host: what is needed to tell where a result came from."""
    import importlib.metadata as md

    import torch

    def version(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    commit = git_commit()

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "minatar": version("minatar"),
        "algos": version("diiqn-suite"),
        "git_commit": commit,
        # The uncommitted changes a "-dirty" commit means, kept so the run's code can be rebuilt.
        **({"git_diff": _stored_diff()} if commit and commit.endswith("-dirty") else {}),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        # What results may depend on: torch's kernel set (pinned to AVX2 where the CPU has it,
        # algos/__init__.py) and its thread count.
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        # MKL's kernels: "pinned" to AVX2 (MKL_CBWR), or why not (algos/provenance/mkl_vendor.py).
        "mkl_branch": mkl_vendor.BRANCH,
        "torch_threads": torch.get_num_threads(),
        "argv": sys.argv,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def _stored_diff() -> str:
    try:
        return store_code_diff()
    except (OSError, subprocess.SubprocessError) as err:
        return f"not kept: {err}"


def cpu_model() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    return mkl_vendor.cpuinfo_field("model name") or platform.processor() or platform.machine()


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def writable_folder(path: Path, what: str) -> Path:
    """Create folder ``path`` (with its parents) or say in one line why it cannot be; ``what``
    names it for the user (the option that gave it: ``--out``)."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FolderError(f"{what} {path}: cannot create this folder ({err.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise FolderError(f"{what} {path}: the folder is not writable")
    return Path(path)


class RunLockedError(UserError, RuntimeError):
    """Another process is writing the run folder."""


class ResumeError(UserError, RuntimeError):
    """A run folder that cannot be resumed (different config, unreadable checkpoint)."""


class RunFileError(UserError, ValueError):
    """A file of a finished run that is not what its run wrote (cut, changed, swapped)."""


RUN_FILES = ("config.json", "metrics.csv", "diagnostics.csv", "run.json")
"""The files of a run that ``summary.json`` holds the checksums of (written last, it seals them)."""


class RunDir:
    """Paths of one run folder, and its writer's lock."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.metrics = self.root / "metrics.csv"
        self.diagnostics = self.root / "diagnostics.csv"
        self.run_info = self.root / "run.json"
        self.summary = self.root / "summary.json"
        self.checkpoint = self.root / "checkpoint" / "state.pt"
        self.previous_checkpoint = self.root / "checkpoint" / "state.prev.pt"
        self.lock_file = self.root / ".lock"

    def finished(self) -> bool:
        return self.summary.exists()

    def checksums(self) -> dict[str, str]:
        """SHA-256 of each of ``RUN_FILES``, for ``summary.json``."""
        return {name: file_sha256(self.root / name) for name in RUN_FILES}

    def verify(self) -> dict:
        """The finished run's ``summary.json``, once every file it seals is checked against it;
        ``RunFileError`` naming the first file that is missing, cut or changed."""
        try:
            summary = json.loads(self.summary.read_text())
            sealed = summary["files"]
            if not isinstance(sealed, dict) or set(sealed) != set(RUN_FILES):
                raise TypeError("no checksums of its files")
        except FileNotFoundError:
            raise RunFileError(f"{self.summary}: missing (the run is not finished)") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise RunFileError(f"{self.summary}: not a run's summary ({err})") from None
        for name in RUN_FILES:
            path = self.root / name
            if not path.is_file():
                raise RunFileError(f"{path}: missing from the finished run")
            if file_sha256(path) != sealed[name]:
                raise RunFileError(f"{path}: not the file its run wrote (its checksum differs "
                                   "from the one in summary.json): cut, edited or swapped")
        return summary

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock (``flock`` on ``.lock``, which names the holder's PID) while
        writing it. The kernel releases it however the process ends, SIGKILL included."""
        made_folder = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        made_lock = not self.lock_file.exists()
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                raise RunLockedError(f"{self.root} is being written by another trainer (PID "
                                     f"{holder}); wait for it to finish, or stop it") from None
            try:
                pid = f"{os.getpid()}\n".encode()
                os.pwrite(fd, pid, 0)  # over the last holder's PID: a full disk keeps one
                os.ftruncate(fd, len(pid))
            except OSError as err:  # a full disk: leave no empty lock (nor folder) it made
                if made_lock:
                    self.lock_file.unlink(missing_ok=True)
                if made_folder:
                    with contextlib.suppress(OSError):
                        self.root.rmdir()
                raise OSError(err.errno, err.strerror, str(self.lock_file)) from err
            yield
        finally:
            os.close(fd)

    def lock_holder(self) -> str | None:
        """The PID (as ``.lock`` names it) of the trainer that holds the folder's lock now, or
        None where none does. A probe: a shared lock, which a writer's exclusive lock refuses,
        let go at once (a trainer that starts in that instant stops as if the folder were held);
        it creates nothing."""
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except OSError:  # no .lock: no trainer has held it
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def set_aside(self, tag: str) -> Path:
        """Move the whole folder out of the way, never deleting it, and return where it went:
        ``results/stale/...`` for a folder under ``results/runs/``, else a sibling; ``tag``
        (what makes it stale) ends the new name."""
        parts = self.root.parts
        if "runs" in parts:
            at = len(parts) - 1 - parts[::-1].index("runs")
            target = Path(*parts[:at], "stale", *parts[at + 1:-1], f"{self.root.name}-{tag}")
        else:
            target = self.root.with_name(f"{self.root.name}.stale-{tag}")
        candidate, n = target, 1
        while candidate.exists():
            n += 1
            candidate = target.with_name(f"{target.name}-{n}")
        candidate.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root, candidate)
        return candidate

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete the temporary files of writes a killed process left (call under the lock)."""
        stale = [p for folder in (self.root, self.checkpoint.parent) if folder.is_dir()
                 for p in folder.glob(".*.tmp")]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale


SEAL_KEY = "sealed_sha256"
"""The key of a JSON description's own checksum (``sealed``)."""


def json_seal(data: dict) -> str:
    """The SHA-256 of a JSON object as it reads back from disk (keys sorted), ``SEAL_KEY``
    left out."""
    disk = json.loads(to_json({k: v for k, v in data.items() if k != SEAL_KEY}))
    return hashlib.sha256(json.dumps(disk, sort_keys=True).encode()).hexdigest()


def sealed(data: dict) -> dict:
    """``data`` with its own checksum under ``SEAL_KEY``, to write as a description."""
    return {**data, SEAL_KEY: json_seal(data)}


def config_identity(config: dict) -> str:
    """The identity of a run: the SHA-256 of its config as ``config.json`` holds it (keys
    sorted). ``run.json`` records it (``config_sha256``) and every checkpoint carries it."""
    canonical = json.dumps(json.loads(to_json(config)), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_description(path: Path, error: type[Exception], missing: str,
                     shipped: Collection[str],
                     check: Callable[[Any], str | None] | None = None) -> Any:
    """The description (a sealed JSON object) at ``path``. ``error`` with one line naming the
    file if it is absent (the message ``missing``), not JSON, failing ``check`` (what is wrong,
    or None) or, where it is an object, not as its writer wrote it (``seal_problem``; a file
    without a seal must be one of ``shipped``, the SHA-256 of the files the repository shipped
    before seals). What is valid JSON but no object is returned, for the caller to name."""
    if not path.is_file():
        raise error(missing)
    try:
        info = read_json(path)
    except ValueError as err:
        raise error(f"{path}: not valid JSON ({err})") from None
    problem = (check(info) if check else None) or (
        seal_problem(info, path, shipped) if isinstance(info, dict) else None)
    if problem:
        raise error(f"{path}: {problem}")
    return info


def seal_problem(data: dict, path: Path, shipped: Collection[str]) -> str | None:
    """What is wrong with the description ``data`` read back from ``path``, or None: a seal
    that differs from its contents or, with no seal, a file that is not byte for byte one of
    ``shipped`` (the files written before seals, ``before_seals``): a seal deleted, or an
    unsealed file changed, is not taken for an old file."""
    if SEAL_KEY in data:
        if data[SEAL_KEY] != json_seal(data):
            return (f"its contents differ from its own checksum ({SEAL_KEY}): changed after it "
                    "was written")
        return None
    if file_sha256(path) not in shipped:
        return (f"no seal ({SEAL_KEY}), and not a file the repository shipped before seals "
                "(algos/provenance/before_seals.py): changed, or its seal removed")
    return None
