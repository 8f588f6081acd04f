"""State-only expert datasets, with the true actions kept apart for scoring only.

``python -m algos dataset --expert DIR --size N --seed S --out results/datasets/G/nN.npz`` rolls
the expert out (epsilon-greedy, epsilon small) and writes three files:

* ``nN.npz``: the state-only transitions every imitation method reads: ``states`` and
  ``next_states`` (bit-packed, ``envs.pack_states``), ``dones`` (the episode *terminated* there:
  the task's end, nothing follows), ``truncated`` (it was cut there by a time limit: the state
  has a future), ``episodes`` (episode index) and ``steps`` (step index within the episode).
* ``nN.json`` (the dataset's description): size, episodes, the expert's return in the collected
  episodes, action set, expert folder and its scores, seed, epsilon, versions, and SHA-256
  checksums of both array files.
* ``nN.actions.npy``: the MinAtar id of the action each transition really executed (sticky
  actions included). Only scoring code opens it (``load_true_actions``): inference accuracy of
  DIIQN, inverse-dynamics accuracy of BCO. ``load_dataset``, the loader learning code uses, never
  reads it and returns no actions.
* ``nN.effects.npy``: for each transition, a bitmask of the MinAtar actions that would have had
  the same effect as the executed one (same next state, reward and end, under the same random
  draws; ``MinAtarEnv.equivalent_actions``). Scoring only, like the actions: an inferred noop for
  an expert's fire is no mistake where firing changes nothing.

The rollout stream is fixed by the expert and the seed, and ``nN`` holds its first ``N``
transitions, so a smaller dataset is an exact prefix of a larger one with the same seed (nested
data for the dataset-size experiments). The last episode may be cut at ``N``; ``nN.json`` says
how many episodes are complete.

Format 2 (this one) split terminations from time limits. A format-1 file of a MinAtar game loads
unchanged (its ``dones`` are terminations: the games have no time limit; ``truncated`` is all
false); a format-1 maze file is refused with a message, since its ``dones`` mixed the two.
"""

from __future__ import annotations

import hashlib
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from algos.envs import (
    EnvConfig,
    environment_names,
    is_maze,
    make_env,
    pack_states,
    packed_size,
    state_shape,
)
from algos.errors import UserError
from algos.provenance import before_seals
from algos.provenance.existing import nothing_to_do, refuse_if_different
from algos.provenance.runs import (
    atomic_write,
    now,
    provenance,
    read_description,
    sealed,
    to_json,
    writable_folder,
)
from algos.seeds import Stream, child_seed
from algos.training.acting import Policy, epsilon_greedy
from algos.values import require_memory

FORMAT = 2

ARRAYS: dict[str, str] = {
    "states": "uint8", "next_states": "uint8", "dones": "bool", "truncated": "bool",
    "episodes": "int32", "steps": "int32",
}
"""The arrays of a dataset file and their dtypes (states are bit-packed rows)."""


DESCRIPTION_KEYS: dict[str, type] = {"game": str, "size": int, "arrays": dict, "sha256": str,
                                     "state_shape": list, "expert": dict}
"""What a dataset description must hold for learning code (and their types)."""


class DatasetError(UserError, ValueError):
    """A missing, corrupt or mismatched dataset: the message names the file and the problem."""


def info_path(path: Path) -> Path:
    """``nN.npz`` -> ``nN.json``."""
    return Path(path).with_suffix(".json")


def actions_path(path: Path) -> Path:
    """``nN.npz`` -> ``nN.actions.npy``."""
    return Path(path).with_suffix(".actions.npy")


def effects_path(path: Path) -> Path:
    """``nN.npz`` -> ``nN.effects.npy``."""
    return Path(path).with_suffix(".effects.npy")


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def require_dataset_memory(size: int, state_bytes: int) -> None:
    """``SizeError`` where this machine cannot hold the arrays of ``size`` transitions: two
    states, four small columns, and the hidden actions and effects."""
    require_memory(size * (2 * state_bytes + 12), f"a dataset of {size:,} transitions")


def roll_out(policy: Policy, env_config: EnvConfig, size: int, seed: int, epsilon: float,
             progress=None, record_effects: bool = True
             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """The first ``size`` transitions of the expert's rollout stream for ``seed``.

    Returns the state-only arrays, the hidden arrays (``actions``: executed MinAtar ids;
    ``effects``: bitmasks of the actions with the same effect, zeros unless
    ``record_effects``: trying every action costs about 6x the rollout's environment time), and
    statistics.
    """
    env = make_env(env_config, child_seed(seed, Stream.DATASET, 0))
    rng = np.random.default_rng(child_seed(seed, Stream.DATASET, 1))
    nbytes = packed_size(env.state_shape)
    require_dataset_memory(size, nbytes)
    arrays = {"states": np.zeros((size, nbytes), np.uint8),
              "next_states": np.zeros((size, nbytes), np.uint8),
              "dones": np.zeros(size, bool), "truncated": np.zeros(size, bool),
              "episodes": np.zeros(size, np.int32), "steps": np.zeros(size, np.int32)}
    actions = np.zeros(size, np.int8)
    effects = np.zeros(size, np.uint8)
    returns, episode_return, episode, step = [], 0.0, 0, 0
    obs = env.reset()
    state = pack_states(obs)
    for t in range(size):
        same_effect = env.equivalent_actions() if record_effects else None
        obs, reward, terminated, truncated = env.step(
            epsilon_greedy(policy, obs, epsilon, rng, env.n_actions))
        if same_effect is not None:
            effects[t] = same_effect(env.executed_action)
        next_state = pack_states(obs)
        arrays["states"][t], arrays["next_states"][t] = state, next_state
        arrays["dones"][t], arrays["truncated"][t] = terminated, truncated
        arrays["episodes"][t], arrays["steps"][t] = episode, step
        actions[t] = env.executed_action
        episode_return += reward
        step += 1
        if terminated or truncated:
            returns.append(episode_return)
            episode_return, episode, step = 0.0, episode + 1, 0
            obs = env.reset()
            next_state = pack_states(obs)
        state = next_state
        if progress is not None and (t + 1) % 1000 == 0:
            progress.update(1000)
    stats = {
        "episodes": int(arrays["episodes"][-1]) + 1,
        "complete_episodes": len(returns),
        "last_episode_complete": bool(arrays["dones"][-1] or arrays["truncated"][-1]),
        "expert_return_mean": float(np.mean(returns)) if returns else None,
        "expert_return_std": float(np.std(returns)) if returns else None,
    }
    return arrays, {"actions": actions, "effects": effects}, stats


def make_dataset(policy: Policy, env_config: EnvConfig, *, size: int, seed: int, epsilon: float,
                 out: Path, expert_dir: Path, expert_info: dict, progress=None,
                 record_effects: bool = True) -> dict:
    """Roll out, then write ``nN.npz``, the hidden ``nN.actions.npy`` and ``nN.effects.npy``,
    and, last, ``nN.json``."""
    start = time.perf_counter()
    arrays, hidden, stats = roll_out(policy, env_config, size, seed, epsilon, progress,
                                     record_effects)
    seconds = time.perf_counter() - start
    out = Path(out)
    env = make_env(env_config, seed=0)
    info = {
        "format": FORMAT,
        "game": env_config.game,
        "size": size,
        **stats,
        "seed": seed,
        "epsilon": epsilon,
        "env": env.describe(),
        "state_shape": list(env.state_shape),
        "arrays": {name: {"dtype": str(a.dtype), "shape": list(a.shape)}
                   for name, a in arrays.items()},
        "sha256": checksum(arrays),
        "actions_file": actions_path(out).name,
        "actions_sha256": checksum({"actions": hidden["actions"]}),
        "effects_file": effects_path(out).name if record_effects else None,
        "effects_sha256": checksum({"effects": hidden["effects"]}),
        "expert": {"path": str(expert_dir), "kind": expert_info.get("kind"),
                   "return_mean": expert_info.get("eval", {}).get("return_mean"),
                   "random_return_mean": expert_info.get("random", {}).get("return_mean"),
                   "steps_trained": expert_info.get("steps_trained")},
        "rollout_seconds": seconds,
        "transitions_per_second": size / seconds,
        "created": now(),
        "provenance": provenance(),
    }
    # The description is whole before any file is written (it is written last), so that a
    # failure leaves no arrays without their description.
    info = sealed(info)
    _write_arrays(out, arrays, hidden, record_effects, info)
    return info


def _write_arrays(out: Path, arrays: dict, hidden: dict, record_effects: bool,
                  info: dict | None = None) -> None:
    """Write the array files (and ``info`` as the description, last); a failure (a full
    disk) removes every file this call wrote and is one ``DatasetError``."""
    writes = [(out, lambda f: np.savez(f, **arrays)),
              (actions_path(out), lambda f: np.save(f, hidden["actions"]))]
    if record_effects:
        writes.append((effects_path(out), lambda f: np.save(f, hidden["effects"])))
    if info is not None:
        writes.append((info_path(out), lambda f: f.write(to_json(info).encode())))
    written = []
    try:
        for path, write in writes:
            atomic_write(path, write)
            written.append(path)
    except OSError as err:
        for path in written:
            path.unlink(missing_ok=True)
        raise DatasetError(f"{out}: cannot write the dataset ({err.strerror or err}); nothing "
                           "of it was written") from None


def arrays_missing(out: Path) -> bool:
    """Whether a described dataset (``nN.json`` present) lacks one of its array files: a
    committed description whose arrays are regenerated (``restore_dataset``)."""
    info = read_info(out)
    files = [Path(out), actions_path(out)] + ([effects_path(out)] if info.get("effects_file")
                                              else [])
    return not all(f.is_file() for f in files)


def restore_dataset(policy: Policy, env_config: EnvConfig, out: Path, progress=None) -> dict:
    """Make again the array files of the dataset that ``out``'s description describes (same
    expert, seed, size, epsilon), and write them only if their checksums are the described
    ones: the description (committed) is the proof of what the arrays must be. Returns it."""
    out = Path(out)
    info = read_info(out)
    if info.get("format") != FORMAT:
        raise DatasetError(f"{info_path(out)}: a description of format {info.get('format')}, "
                           f"this code makes format {FORMAT}; move it away to make a new one")
    record_effects = info.get("effects_file") is not None
    arrays, hidden, _ = roll_out(policy, env_config, info["size"], info["seed"],
                                 info["epsilon"], progress, record_effects)
    found = {"sha256": checksum(arrays),
             "actions_sha256": checksum({"actions": hidden["actions"]}),
             "effects_sha256": checksum({"effects": hidden["effects"]})}
    differ = [key for key, value in found.items()
              if (key != "effects_sha256" or record_effects) and value != info.get(key)]
    if differ:
        raise DatasetError(f"{info_path(out)}: the arrays made again from its expert and seed "
                           f"differ from the ones it describes ({', '.join(differ)}): this "
                           "code or this expert no longer makes that dataset; move the "
                           "description away to make a new one")
    _write_arrays(out, arrays, hidden, record_effects)
    return info


def differences_from_existing(out: Path, *, size: int, seed: int, epsilon: float,
                              expert_dir: Path, expert_info: dict,
                              record_effects: bool) -> list[str] | None:
    """How a finished dataset at ``out`` (its description written) differs from the one asked
    for: ``None`` where there is none, ``[]`` where it is the same, else one "key old -> new"
    per difference. The expert counts by its folder and by what its ``expert.json`` says, so a
    retrained expert in the same folder is a difference."""
    if not info_path(out).is_file():
        return None
    info = read_info(out)
    if not isinstance(info, dict):
        raise DatasetError(f"{info_path(out)}: not a dataset description; move it away")
    expert = info.get("expert") or {}
    asked = {"size": size, "seed": seed, "epsilon": epsilon,
             "expert": str(expert_dir),
             "expert return": expert_info.get("eval", {}).get("return_mean"),
             "expert steps": expert_info.get("steps_trained"),
             "effects recorded": record_effects}
    found = {"size": info.get("size"), "seed": info.get("seed"), "epsilon": info.get("epsilon"),
             "expert": expert.get("path"), "expert return": expert.get("return_mean"),
             "expert steps": expert.get("steps_trained"),
             "effects recorded": info.get("effects_file") is not None}
    return [f"{key} {found[key]} -> {asked[key]}" for key in asked if found[key] != asked[key]]


class Made(NamedTuple):
    """What ``dataset_from_expert`` did: its description, and whether it made the arrays again
    for a description already there (``again``) rather than a new dataset."""

    info: dict
    again: bool


def dataset_from_expert(expert_dir: Path, out: Path, *, size: int, seed: int, epsilon: float,
                        record_effects: bool = True) -> Made | None:
    """The dataset of ``size`` transitions of the expert in ``expert_dir`` (rollout ``seed``,
    exploration ``epsilon``) at ``out``: made (``make_dataset``), or its arrays made again where
    only its description is there (``restore_dataset``), with a progress bar. A finished
    dataset is never overwritten (runs were trained on it: their config.json has its checksum):
    the same request says there is nothing to do and returns None; another one is refused."""
    from tqdm import tqdm

    from algos.data.experts import expert_env_config, load_expert
    from algos.training.learner import configure_torch

    if not 0.0 <= epsilon <= 1.0:
        raise DatasetError(f"--epsilon must lie in [0, 1], got {epsilon}")
    if out.suffix != ".npz":
        raise DatasetError(f"--out must name a .npz file, got {out}")
    policy, expert_info = load_expert(expert_dir)
    env_config = expert_env_config(expert_info)
    changed = differences_from_existing(
        out, size=size, seed=seed, epsilon=epsilon, expert_dir=expert_dir,
        expert_info=expert_info, record_effects=record_effects)
    again = changed == [] and arrays_missing(out)
    if changed is not None and not again:
        refuse_if_different(out, "a dataset made otherwise", changed,
                            "move it away to make a new one", DatasetError)
        nothing_to_do(out, "dataset already made with these settings")
        return None
    require_dataset_memory(size, packed_size(state_shape(env_config.game)))  # before --out
    writable_folder(out.parent, "--out")
    configure_torch(1)
    with tqdm(total=size, desc=f"dataset {env_config.game}{' (again)' if again else ''}",
              unit="step", disable=None) as progress:
        if again:
            return Made(restore_dataset(policy, env_config, out, progress=progress), True)
        return Made(make_dataset(policy, env_config, size=size, seed=seed, epsilon=epsilon,
                                 out=out, expert_dir=expert_dir, expert_info=expert_info,
                                 progress=progress, record_effects=record_effects), False)


@dataclass(frozen=True)
class StateOnlyDataset:
    """What learning code may know of the expert: its transitions without actions."""

    path: Path
    info: dict = field(repr=False)
    states: np.ndarray = field(repr=False)  # uint8 (N, nbytes), bit-packed
    next_states: np.ndarray = field(repr=False)
    dones: np.ndarray = field(repr=False)  # bool (N,): terminated (the task ended)
    truncated: np.ndarray = field(repr=False)  # bool (N,): cut by a time limit
    episodes: np.ndarray = field(repr=False)  # int32 (N,)
    steps: np.ndarray = field(repr=False)  # int32 (N,), index within the episode

    def __len__(self) -> int:
        return len(self.states)

    @property
    def game(self) -> str:
        return self.info["game"]

    @property
    def state_shape(self) -> tuple[int, int, int]:
        return tuple(self.info["state_shape"])

    def env_config(self) -> EnvConfig:
        """The environment the expert played (a maze's expert may move in four directions of
        eight)."""
        return EnvConfig(**{f.name: self.info["env"][f.name] for f in fields(EnvConfig)})

    def summary(self) -> str:
        """What the dataset holds, in one line."""
        info, mean = self.info, self.info["expert_return_mean"]
        return (f"{info['game']}, {len(self)} transitions, {info['episodes']} episodes "
                f"({info['complete_episodes']} complete), expert return "
                f"{'n/a' if mean is None else f'{mean:.2f}'}, action set "
                f"{info['env']['action_names']}, expert {info['expert']['path']}")

    def require_state_shape(self, state_shape: tuple[int, ...]) -> None:
        """Raise ``DatasetError`` unless the dataset's states have ``state_shape`` (the
        environment a learner is built for)."""
        if tuple(self.state_shape) != tuple(state_shape):
            raise DatasetError(f"{self.path}: states of shape {self.state_shape}, but the "
                               f"environment's are {tuple(state_shape)}")


def read_info(path: Path) -> Any:
    """The description of the dataset ``path`` (``nN.npz``, or ``nN.json`` itself), checked
    against its seal (one without a seal must be a description the repository shipped before
    seals, ``before_seals``): the one reader of dataset descriptions."""
    meta = info_path(path)
    return read_description(
        meta, DatasetError, f"{meta}: missing (every dataset file has its description beside it)",
        before_seals.DATASET_DESCRIPTIONS)


def load_dataset(path: Path, game: str | None = None) -> StateOnlyDataset:
    """Load and validate a state-only dataset; it never opens the true-actions file.

    Checks that the file exists and reads, that its description is whole, that every array is
    present with the documented dtype and the shape its description states, that the checksum
    matches, and that the states fit the game (``game``, if given, must be the dataset's). Each
    failure is one ``DatasetError`` naming the file and the problem. A format-1 file of a MinAtar
    game gets ``truncated`` all false (see the module's docstring).
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path}: a folder; give a dataset's arrays file in it "
                           f"({', '.join(sorted(p.name for p in path.glob('n*.npz'))) or 'none'})")
    if path.suffix == ".json" and path.with_suffix(".npz").is_file():
        raise DatasetError(f"{path}: a dataset's description; give its arrays file, "
                           f"{path.with_suffix('.npz')}")
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    info = read_info(path)
    described = info.get("arrays") if isinstance(info, dict) else None
    if not isinstance(described, dict) or not all(
            isinstance(info.get(k), t) for k, t in DESCRIPTION_KEYS.items()):
        raise DatasetError(f"{info_path(path)}: not a dataset description (it needs "
                           f"{', '.join(DESCRIPTION_KEYS)})")
    if info["game"] not in environment_names():
        raise DatasetError(f"{path}: a dataset of an unknown environment {info['game']!r}")
    if tuple(info["state_shape"]) != state_shape(info["game"]):
        raise DatasetError(f"{info_path(path)}: state_shape {info['state_shape']}, but "
                           f"{info['game']} states have {list(state_shape(info['game']))}")
    if not isinstance(info["expert"].get("path"), str):
        raise DatasetError(f"{info_path(path)}: its expert has no path")
    if game is not None and info["game"] != game:
        raise DatasetError(f"{path}: a dataset of {info['game']!r}, not of {game!r}")
    expected = dict(ARRAYS)
    if info.get("format", 1) == 1:
        if is_maze(info["game"]):
            raise DatasetError(f"{path}: a format-1 maze dataset, whose dones mix the goal with "
                               "the step limit; make it again with python -m algos dataset")
        del expected["truncated"]  # MinAtar has no time limit: its dones are terminations
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in expected if name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"{path}: unreadable or truncated ({err})") from None
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise DatasetError(f"{path}: missing arrays {', '.join(missing)}")
    expected_bytes = packed_size(state_shape(info["game"]))
    for name, dtype in expected.items():
        array = arrays[name]
        if str(array.dtype) != dtype:
            raise DatasetError(f"{path}: array {name} has dtype {array.dtype}, expected {dtype}")
        shape = described.get(name, {}).get("shape") if isinstance(described.get(name),
                                                                    dict) else None
        if len(array) != info["size"]:
            raise DatasetError(f"{path}: array {name} has {len(array)} rows, but its "
                               f"description says the dataset has {info['size']}")
        if list(array.shape) != shape:
            raise DatasetError(f"{path}: array {name} has shape {list(array.shape)}, its "
                               f"description says {shape}")
    for name in ("states", "next_states"):
        if arrays[name].shape[1] != expected_bytes:
            raise DatasetError(f"{path}: {name} rows have {arrays[name].shape[1]} bytes, but "
                               f"{info['game']} states pack into {expected_bytes}")
    if checksum(arrays) != info["sha256"]:
        raise DatasetError(f"{path}: checksum mismatch (the file changed after it was written)")
    arrays.setdefault("truncated", np.zeros(info["size"], dtype=bool))
    return StateOnlyDataset(path=path, info=info, **arrays)


def _load_hidden(path: Path, file: Path, key: str, what: str) -> np.ndarray:
    info = read_info(path)
    if not file.is_file():
        raise DatasetError(f"{file}: the {what} file is missing")
    try:
        array = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DatasetError(f"{file}: unreadable or truncated ({err})") from None
    if checksum({key: array}) != info.get(f"{key}_sha256"):
        raise DatasetError(f"{file}: checksum mismatch (the file changed after it was written)")
    return array


def load_true_actions(path: Path) -> np.ndarray:
    """The executed MinAtar action ids of a dataset, for scoring code only (never learning)."""
    return _load_hidden(Path(path), actions_path(path), "actions", "true-actions")


def load_action_effects(path: Path) -> np.ndarray:
    """Per transition, the bitmask (``1 << id``) of MinAtar actions with the executed action's
    effect; for scoring code only."""
    return _load_hidden(Path(path), effects_path(path), "effects", "action-effects")


InferenceScorer = Callable[[np.ndarray], dict]
"""Scores inferred actions (agent action indices, -1 = none) against a dataset's hidden true
actions; built by ``inference_scorer``, so the learner never holds the true actions."""


def inference_scorer(path: Path, action_ids: tuple[int, ...]) -> InferenceScorer:
    """A scoring function for inferred expert actions, holding the hidden true actions itself.

    ``action_ids`` maps the agent's action indices to MinAtar ids. The returned function takes
    the inferred actions (agent indices, -1 where none) and returns, over the inferred
    transitions: ``inference_accuracy`` (the inferred action is the one really executed),
    ``inference_effect_accuracy`` (it has the same effect as the executed one: in Breakout noop,
    up, down and fire are indistinguishable, so only this one is a fair score there) and
    ``inferred_count``.
    """
    true_actions = load_true_actions(path).astype(np.int64)
    effects = (load_action_effects(path).astype(np.int64) if read_info(path).get("effects_file")
               else None)
    ids = np.asarray(action_ids, dtype=np.int64)

    def score(inferred: np.ndarray) -> dict[str, float]:
        covered = np.flatnonzero(inferred >= 0)
        if not len(covered):
            return {"inference_accuracy": float("nan"),
                    "inference_effect_accuracy": float("nan"), "inferred_count": 0}
        chosen = ids[inferred[covered]]
        same_effect = ((effects[covered] >> chosen) & 1 if effects is not None
                       else np.full(len(covered), np.nan))
        return {"inference_accuracy": float(np.mean(chosen == true_actions[covered])),
                "inference_effect_accuracy": float(np.mean(same_effect)),
                "inferred_count": len(covered)}

    return score


def scorer_or_warning(path: Path, action_ids: tuple[int, ...],
                      where: str = "") -> InferenceScorer | None:
    """``inference_scorer``, or None with a warning (saying what goes without it: ``where``)
    where the dataset's hidden actions cannot be read: they are for scoring only."""
    try:
        return inference_scorer(path, action_ids)
    except DatasetError as err:
        print(f"warning: no inference accuracy{where} ({err})", file=sys.stderr)
        return None


def load_for_run(path: Path, run_config: dict) -> StateOnlyDataset:
    """The dataset at ``path`` for the run of ``run_config``, which gets its description (path,
    size, checksum, expert) for its config.json."""
    dataset = load_dataset(path, game=run_config["game"])
    run_config["dataset"] = {"path": str(path), "size": len(dataset),
                             "sha256": dataset.info["sha256"], "expert": dataset.info["expert"]}
    return dataset
