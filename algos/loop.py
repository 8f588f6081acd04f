"""The one training loop: acting, evaluation, logging, checkpoints and resume.

Every method of the suite trains through ``train_run``; an algorithm only supplies an ``Agent``
(how to act greedily, what to do with a transition, one learning update). The loop owns the
environment, the epsilon-greedy schedule, evaluation, the run folder and reproducibility:

* One integer seed fixes everything. Independent streams for the environment, the exploration
  draws, the replay sampling and the network initialisation are derived from it with
  ``numpy.random.SeedSequence``; each evaluation uses fresh environments seeded from
  ``(seed, evaluation index)``, so evaluating never disturbs training.
* A checkpoint holds the networks, the optimizer, the replay memory, every RNG state (Python,
  NumPy, torch, the environment's) and the loop's own state (the episode in progress, the metric
  rows so far). Resuming from it continues the exact same trajectory, so a run killed at any
  moment and resumed writes the same ``metrics.csv`` as one never stopped (wall-clock columns
  aside). Its file begins with a header holding the SHA-256 of what follows and the identity of
  its run (``run_identity``, of the run's config): a checkpoint that is damaged or that is
  another run's is refused, and the one before it is tried (``_read_checkpoint``).

Evaluation protocol: every ``eval_every`` environment steps (and at step 0 and at the end),
``eval_episodes`` episodes are played epsilon-greedily with ``eval_epsilon`` (0.05, the DQN
papers' convention; 0 gives greedy), each capped at ``eval_max_episode_steps``; ``metrics.csv``
records their mean and standard deviation.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from .acting import epsilon_greedy, evaluate
from .algorithms import ALGORITHMS, LoopConfig, revision, revision_label
from .envs import EnvConfig, make_env, pack_states
from .errors import RunFailure, UserError
from .learner import DivergenceError
from .runs import (
    RunDir,
    atomic_write,
    atomic_write_csv,
    atomic_write_json,
    now,
    peak_rss_mb,
    provenance,
    read_json,
    to_json,
)
from .seeds import Stream, child_seed

METRICS_COLUMNS = (
    "env_steps", "frames", "episodes", "updates", "epsilon",
    "eval_return_mean", "eval_return_std", "eval_episodes",
    "train_return_mean", "train_episodes", "loss_mean",
    "wall_seconds", "steps_per_second",
)
"""Columns of ``metrics.csv``. The last two are wall-clock and differ between identical runs:
``wall_seconds`` when the evaluation began (summed over every session of a resumed run), and
``steps_per_second`` the training speed since the previous evaluation, evaluation time excluded."""

WALL_CLOCK_COLUMNS = ("wall_seconds", "steps_per_second")

WALL_CLOCK_DIAGNOSTICS = ("bridge_search_ms",)
"""Columns of ``diagnostics.csv`` that are timings, different between identical runs."""

class Agent(Protocol):
    """What an algorithm gives the loop (``greedy_action`` makes it a ``Policy`` too)."""

    n_actions: int
    updates: int
    """Learning updates done so far."""

    def greedy_action(self, obs: np.ndarray) -> int:
        """Best action for one bool ``(C, H, W)`` observation."""

    def observe(self, state: np.ndarray, action: int, reward: float, next_state: np.ndarray,
                terminated: bool, step: int) -> None:
        """Take in one transition (bit-packed states; ``terminated``: the task ended at
        ``next_state``, as opposed to a time limit, after which the episode is simply cut)."""

    def update(self, step: int) -> float:
        """One learning update at environment step ``step``; returns the loss."""

    def take_diagnostics(self) -> dict[str, float]:
        """Algorithm-specific numbers for ``diagnostics.csv`` over the interval since the last
        call; the call starts a new interval."""

    def state_dict(self) -> dict:
        ...

    def load_state_dict(self, state: dict) -> None:
        ...


def epsilon_at(config: LoopConfig, step: int) -> float:
    """MinAtar's schedule: 1 until ``replay_start``, then linear to ``epsilon_end``."""
    if step < config.replay_start:
        return 1.0
    progress = min(1.0, (step - config.replay_start) / config.epsilon_decay_steps)
    return config.epsilon_start + progress * (config.epsilon_end - config.epsilon_start)


def _rng_states() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def _set_rng_states(states: dict) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])


class _Trainer:
    """The state of one training run between checkpoints (kept in one object so it saves whole)."""

    def __init__(self, agent: Agent, config: LoopConfig, env_config: EnvConfig, seed: int,
                 total_steps: int, run: RunDir):
        self.agent, self.config, self.env_config = agent, config, env_config
        self.seed, self.total_steps, self.run = seed, total_steps, run
        self.env = make_env(env_config, child_seed(seed, Stream.ENV))
        self.explore = np.random.default_rng(child_seed(seed, Stream.EXPLORE))
        self.step = 0
        self.episodes = 0
        self.obs = self.env.reset()
        self.episode_return = 0.0
        self.train_returns: list[float] = []  # episodes finished since the last evaluation
        self.losses: list[float] = []  # since the last evaluation
        self.metrics: list[dict] = []
        self.stopped = False  # set when ``stop_when`` ended training before ``total_steps``
        self.diagnostics: list[dict] = []
        self.wall_seconds = 0.0  # accumulated over every session of this run
        self.saved_step: int | None = None  # of the last checkpoint written or read
        self.identity = ""  # of the run (``run_identity``), written into every checkpoint
        self._session_start = time.perf_counter()
        self._last_eval_wall, self._last_eval_step = 0.0, 0

    # --- checkpoints -----------------------------------------------------------------------
    def save(self) -> None:
        state = {
            "agent": self.agent.state_dict(),
            "env": self.env.state_dict(),
            "explore": self.explore.bit_generator.state,
            "rng": _rng_states(),
            "loop": {k: getattr(self, k) for k in ("step", "episodes", "obs", "episode_return",
                                                      "train_returns", "losses", "metrics",
                                                      "diagnostics", "stopped")},
            "wall_seconds": self.elapsed(),
        }
        run = self.run
        try:
            # The last checkpoint becomes the previous one only once the new one is whole, so
            # a kill or a full disk at any moment leaves at least one readable checkpoint.
            atomic_write(run.checkpoint,
                         lambda f: _write_checkpoint(f, _arrays_as_tensors(state), self.identity),
                         keep_previous=run.previous_checkpoint)
        except (OSError, RuntimeError) as err:
            reason = " ".join(str(err).split())[:200]
            raise CheckpointError(f"cannot write the checkpoint of step {self.step} to "
                                  f"{run.checkpoint} ({reason}); {self.saved()}") from None
        self.saved_step = self.step

    def saved(self) -> str:
        """Where a resumed run would start, in words."""
        if self.saved_step is None:
            return "the run has no checkpoint yet (it would start again)"
        return f"the run keeps its checkpoint of step {self.saved_step}"

    def load(self, trust_unmarked: bool = True) -> None:
        """Resume from the last checkpoint that is whole and this run's (``identity``), else
        from the one before it; ``ResumeError`` if neither is. ``trust_unmarked``: whether a
        checkpoint of the format before identities (no header) may be taken as this run's,
        which only a ``config.json`` beside it that matches this run can vouch for."""
        errors = []
        paths = [p for p in (self.run.checkpoint, self.run.previous_checkpoint) if p.exists()]
        for i, path in enumerate(paths):
            try:
                state = _tensors_as_arrays(_read_checkpoint(path, self.identity, trust_unmarked))
                break
            except Exception as err:  # any unreadable or refused file: try the previous one
                reason = " ".join(str(err).split())[:160]
                errors.append(f"{path.name}: {reason}")
                if i + 1 < len(paths):
                    print(f"warning: cannot read checkpoint {path} ({reason}); trying the one "
                          "before it", file=sys.stderr)
        else:
            raise ResumeError(f"no usable checkpoint of this run in {self.run.checkpoint.parent} "
                              f"({'; '.join(errors)}); move the run folder away to start the run "
                              "anew") from None
        self.agent.load_state_dict(state["agent"])
        self.env.load_state_dict(state["env"])
        self.explore.bit_generator.state = state["explore"]
        _set_rng_states(state["rng"])
        for key, value in state["loop"].items():
            setattr(self, key, value)
        self.wall_seconds = state["wall_seconds"]
        self.saved_step = self.step
        self._session_start = time.perf_counter()
        self._last_eval_wall, self._last_eval_step = self.wall_seconds, self.step

    def elapsed(self) -> float:
        return self.wall_seconds + time.perf_counter() - self._session_start

    # --- evaluation and logging --------------------------------------------------------------
    def log_evaluation(self) -> dict:
        # Speed is of training alone: from the end of the last evaluation to the start of this one.
        wall = self.elapsed()
        interval = wall - self._last_eval_wall
        config = self.config
        returns = evaluate(self.agent, self.env_config, episodes=config.eval_episodes,
                           epsilon=config.eval_epsilon, max_steps=config.eval_max_episode_steps,
                           seed=self.seed, stream=(Stream.EVAL, len(self.metrics)))
        row = {
            "env_steps": self.step,
            "frames": self.step,  # MinAtar has no frame skip: one step is one frame
            "episodes": self.episodes,
            "updates": self.agent.updates,
            "epsilon": epsilon_at(self.config, self.step),
            "eval_return_mean": float(returns.mean()),
            "eval_return_std": float(returns.std()),
            "eval_episodes": len(returns),
            "train_return_mean": float(np.mean(self.train_returns)) if self.train_returns
            else float("nan"),
            "train_episodes": len(self.train_returns),
            "loss_mean": float(np.mean(self.losses)) if self.losses else float("nan"),
            "wall_seconds": wall,
            "steps_per_second": (self.step - self._last_eval_step) / interval
            if self.step > self._last_eval_step else float("nan"),
        }
        self.metrics.append(row)
        self.diagnostics.append({"env_steps": self.step, **self.agent.take_diagnostics()})
        self.train_returns, self.losses = [], []
        self._last_eval_wall, self._last_eval_step = self.elapsed(), self.step
        self.write_logs()
        return row

    def write_logs(self) -> None:
        atomic_write_csv(self.run.metrics, METRICS_COLUMNS, self.metrics)
        columns = list(dict.fromkeys(k for row in self.diagnostics for k in row))
        atomic_write_csv(self.run.diagnostics, columns, self.diagnostics)

    # --- the loop ----------------------------------------------------------------------------
    def run_steps(self, progress: Progress, stop_when: Callable[[dict], bool] | None) -> None:
        config, agent, env, explore = self.config, self.agent, self.env, self.explore
        n_actions = env.n_actions
        state = pack_states(self.obs)
        if not self.metrics:
            self.log_evaluation()
        while self.step < self.total_steps and not self.stopped:
            step = self.step
            action = epsilon_greedy(agent, self.obs, epsilon_at(config, step), explore, n_actions)
            obs, reward, terminated, truncated = env.step(action)
            next_state = pack_states(obs)
            # The replay learns of terminations only: a time limit is not the task's end.
            agent.observe(state, action, reward, next_state, terminated, step)
            if step >= config.replay_start and step % config.train_every == 0:
                self.losses.append(agent.update(step))
            self.episode_return += reward
            if terminated or truncated:
                self.episodes += 1
                self.train_returns.append(self.episode_return)
                self.episode_return = 0.0
                obs = env.reset()
                next_state = pack_states(obs)
            self.obs, state = obs, next_state
            self.step = step + 1
            if self.step % 1000 == 0:
                progress.advance(self.step)
            if self.step % config.eval_every == 0 or self.step == self.total_steps:
                row = self.log_evaluation()
                progress.evaluated(self.step, row["eval_return_mean"])
                self.stopped = stop_when is not None and stop_when(row)
            if (self.step % config.checkpoint_every == 0 or self.step == self.total_steps
                    or self.stopped):
                self.save()
        progress.advance(self.step)


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


_HEADER_SIZE = len(_checkpoint_header("", ""))


def run_identity(run_config: dict) -> str:
    """The identity of a run: the SHA-256 of its config as ``config.json`` holds it (keys
    sorted), which every checkpoint of the run carries."""
    canonical = json.dumps(json.loads(to_json(run_config)), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class _HashingWriter:
    """A file's ``write`` that hashes what goes through it."""

    def __init__(self, f):
        self.f, self.digest = f, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


def _write_checkpoint(f, state: dict, identity: str) -> None:
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
    return _tensors_as_arrays(_read_checkpoint(Path(path), None, trust_unmarked=True))


def _read_checkpoint(path: Path, identity: str | None, trust_unmarked: bool) -> dict:
    """A checkpoint's state once its header says it is whole (its checksum) and this run's
    (``identity``; None: anyone's); a file without the header (the format before it) is read
    only where ``trust_unmarked``. ``CheckpointRefused`` says why not."""
    with open(path, "rb") as f:
        head = f.read(_HEADER_SIZE)
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
            f.seek(_HEADER_SIZE)
            source = _Window(f, _HEADER_SIZE)
        elif not trust_unmarked:
            raise CheckpointRefused("a checkpoint of the older format, without its run's "
                                    "identity, and no config.json of this run beside it")
        else:
            f.seek(0)
            source = f
        # Our own file: it holds numpy RNG states and the like, so not weights_only.
        return torch.load(source, weights_only=False)


class ResumeError(UserError, RuntimeError):
    """A run folder that cannot be resumed (different config, unreadable checkpoint)."""


class CheckpointError(RunFailure, RuntimeError):
    """A checkpoint that could not be written (a full disk, say)."""


class Progress:
    """A run's progress: a bar on a terminal; elsewhere (a log file, a SLURM job) one line every
    ``every`` seconds with the steps, the speed, the time left and the last evaluation."""

    def __init__(self, description: str, total: int, initial: int, every: float):
        self.description, self.total, self.every = description, total, every
        self.bar = tqdm(total=total, initial=initial, desc=description, unit="step",
                        dynamic_ncols=True, smoothing=0.05) if sys.stderr.isatty() else None
        self.start, self.start_step = time.monotonic(), initial
        self.last_line, self.last_eval = self.start, None

    def advance(self, step: int) -> None:
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            return
        now = time.monotonic()
        if now - self.last_line >= self.every or step == self.total:
            self.last_line = now
            speed = (step - self.start_step) / max(now - self.start, 1e-9)
            left = (self.total - step) / speed if speed > 0 else float("inf")
            evaluation = (f", last evaluation {self.last_eval[1]:.2f} at step {self.last_eval[0]}"
                          if self.last_eval else "")
            print(f"{self.description}: step {step}/{self.total} ({step / self.total:.0%}), "
                  f"{speed:.0f} steps/s, {_duration(left)} left{evaluation}", file=sys.stderr,
                  flush=True)

    def evaluated(self, step: int, mean_return: float) -> None:
        self.last_eval = (step, mean_return)
        if self.bar is not None:
            self.bar.set_postfix(eval_return=f"{mean_return:.2f}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown time"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class StaleRunError(ResumeError):
    """A run folder whose run has the asked settings but was made by another code revision."""

    def __init__(self, message: str, found: Any):
        super().__init__(message)
        self.found = found  # the revision the folder's run records


def check_run_folder(run: RunDir, run_config: dict, ignore_revision: bool = False) -> None:
    """Raise ``ResumeError`` if ``run`` already holds a run with other settings, and
    ``StaleRunError`` if it holds one with the same settings from another code revision (unless
    ``ignore_revision``)."""
    if not run.config.exists():
        return
    try:
        saved = read_json(run.config)
    except ValueError as err:
        raise ResumeError(f"{run.config}: not valid JSON ({err}); move the folder away to "
                          "start the run anew") from None
    if not isinstance(saved, dict):
        raise ResumeError(f"{run.config}: not a run's config; move the folder away")
    changed = settings_differences(saved, run_config)
    if changed:
        raise ResumeError(
            f"{run.root} holds a run with a different config (differs in: {', '.join(changed)});"
            " use another --out, or move that folder away to start it anew"
        )
    found_revision, asked_revision = saved.get("revision"), run_config.get("revision")
    if found_revision != asked_revision and not ignore_revision:
        raise StaleRunError(f"{run.root} holds a run of code revision {found_revision}, this "
                            f"code is revision {asked_revision}", found_revision)


def settings_differences(saved: dict, run_config: dict) -> list[str]:
    """How a run's saved ``config.json`` differs from ``run_config`` in its settings (the code
    revision aside), as ``config_differences`` words. A setting the saved run predates counts as
    the same where it is asked at its default: an option added with a default that keeps the
    old behaviour changes no result, so it leaves the runs made before it valid."""
    saved = {key: value for key, value in saved.items() if key != "revision"}
    wanted = {key: value for key, value in json.loads(to_json(run_config)).items()
              if key != "revision"}  # the form it takes on disk (lists, not tuples)
    algo = wanted.get("algo")
    if algo in ALGORITHMS and isinstance(saved.get("algo_config"), dict):
        defaults = json.loads(to_json(asdict(ALGORITHMS[algo].config())))
        wanted["algo_config"] = {
            key: value for key, value in wanted["algo_config"].items()
            if key in saved["algo_config"] or key not in defaults or value != defaults[key]}
    return config_differences(saved, wanted)


def set_aside_if_stale(run: RunDir, run_config: dict) -> Path | None:
    """Check ``run``'s folder against ``run_config`` (``check_run_folder``); a run of another
    code revision is moved aside (``RunDir.set_aside``, never deleted) so that it trains anew.
    Returns where it went, or None."""
    try:
        check_run_folder(run, run_config)
    except StaleRunError as err:
        with run.locked():
            target = run.set_aside(revision_label(err.found))
        print(f"{err}: set it aside as {target}; it trains anew", file=sys.stderr)
        return target
    return None


def train_run(agent: Agent, run_config: dict, config: LoopConfig, env_config: EnvConfig,
              seed: int, total_steps: int, run: RunDir, threads: int = 1,
              description: str = "train", stop_when: Callable[[dict], bool] | None = None,
              progress_every: float = 60.0) -> dict:
    """Train ``agent`` in ``run``'s folder, resuming from its checkpoint if it has one.

    ``run_config`` is the resolved configuration written to ``config.json``; an existing folder
    must hold the same one (else ``ResumeError``), and no other process may be writing it (else
    ``RunLockedError``). ``stop_when(row)``, if given, is asked after every evaluation (``row``
    as in ``metrics.csv``) and ends training early when it returns true. Without a terminal,
    progress is a line every ``progress_every`` seconds. Returns the contents of
    ``summary.json``.
    """
    with run.locked():
        return _train_locked(agent, run_config, config, env_config, seed, total_steps, run,
                             threads, description, stop_when, progress_every)


def _train_locked(agent, run_config, config, env_config, seed, total_steps, run, threads,
                  description, stop_when, progress_every) -> dict:
    check_run_folder(run, run_config)
    run.remove_stale_temporaries()
    # Without config.json, nothing in the folder says whose its files are: only a checkpoint
    # that carries this run's identity, or files marked with it, are taken as this run's.
    vouched = run.config.exists()

    trainer = _Trainer(agent, config, env_config, seed, total_steps, run)
    trainer.identity = identity = run_identity(run_config)
    info = _read_run_info(run, identity, vouched) if run.run_info.exists() else {
        "started": now(), "seed": seed, "config_sha256": identity,
        "env": trainer.env.describe(), "sessions": []}
    resumed_from = 0
    if run.checkpoint.exists() or run.previous_checkpoint.exists():
        trainer.load(trust_unmarked=vouched)
        resumed_from = trainer.step
        trainer.write_logs()  # drop rows written after the checkpoint by a killed session
    if not vouched:
        atomic_write_json(run.config, run_config)
    info["sessions"].append({"started": now(), "from_step": resumed_from, "threads": threads,
                             **provenance()})
    info["provenance"] = info["sessions"][-1]
    atomic_write_json(run.run_info, info)

    progress = Progress(description, total_steps, resumed_from, progress_every)
    try:
        trainer.run_steps(progress, stop_when)
    except DivergenceError as err:
        raise DivergenceError(f"{err.args[0]}; {trainer.saved()}") from None
    finally:
        progress.close()

    wall = trainer.elapsed()
    final = trainer.metrics[-1]
    summary = {
        **{k: run_config[k] for k in ("algo", "game", "seed", "steps")},
        "steps_trained": trainer.step,
        "stopped_early": trainer.stopped,
        "episodes": trainer.episodes,
        "updates": final["updates"],
        "final_eval_return_mean": final["eval_return_mean"],
        "final_eval_return_std": final["eval_return_std"],
        "best_eval_return_mean": max(r["eval_return_mean"] for r in trainer.metrics),
        "wall_seconds": wall,
        "steps_per_second": trainer.step / wall if wall > 0 else None,
        "finished": now(),
    }
    info.update(finished=summary["finished"], wall_seconds=wall,
                steps_per_second=summary["steps_per_second"], peak_rss_mb=peak_rss_mb())
    info["sessions"][-1].update(peak_rss_mb=peak_rss_mb(),
                                steps=trainer.step - resumed_from)
    atomic_write_json(run.run_info, info)
    summary["files"] = run.checksums()
    atomic_write_json(run.summary, summary)  # last: its presence means the run is done
    return summary


def _read_run_info(run: RunDir, identity: str, vouched: bool) -> dict:
    """The folder's ``run.json``, once it is known to be this run's: marked with its identity,
    or, unmarked (older runs), vouched for by the matching ``config.json`` beside it."""
    try:
        info = read_json(run.run_info)
        if not isinstance(info, dict) or not isinstance(info.get("sessions"), list):
            raise ValueError("no sessions")
    except ValueError as err:
        raise ResumeError(f"{run.run_info}: not a run's run.json ({err}); move the run folder "
                          "away to start the run anew") from None
    found = info.get("config_sha256")
    if (found is not None and found != identity) or (found is None and not vouched):
        whose = "another run's" if found is not None else "of an unknown run (no config.json)"
        raise ResumeError(f"{run.run_info}: {whose}; move the run folder away to start the "
                          "run anew")
    return info


def config_differences(found: Any, asked: Any, prefix: str = "") -> list[str]:
    """Where two nested settings dicts differ, as ``dotted.key found -> asked`` (the form the
    datasets' check uses too); ``config`` names the whole if they are not dicts."""
    if isinstance(found, dict) and isinstance(asked, dict):
        out = []
        for key in sorted(set(found) | set(asked)):
            out += config_differences(found.get(key), asked.get(key), f"{prefix}{key}.")
        return out
    return [] if found == asked else [f"{prefix.rstrip('.') or 'config'} {found} -> {asked}"]


def config_dict(algo: str, config: Any, env_config: EnvConfig, seed: int, steps: int) -> dict:
    """The resolved configuration of a run, as written to ``config.json``: its settings and the
    code revision that runs them."""
    return {"algo": algo, "revision": revision(algo), "game": env_config.game, "seed": seed,
            "steps": steps, "env": asdict(env_config), "algo_config": asdict(config)}
