"""Experiments as data: from the workflow's config to the runs each experiment compares.

An experiment (``config["experiments"][name]``) is methods x envs x seeds, optionally swept over
one setting::

    tau_sensitivity:
      envs: [space_invaders]
      methods: [diiqn]                      # an algorithm, or {name, algo, set, seeds}
      sweep: {key: tau, values: [0.9, 0.97, 1.0]}

A run's settings are, in order of precedence: the sweep's value, the method's ``set``, the
experiment's ``set``, the config's ``diiqn_set`` (DIIQN and HA-DIIQN only) and ``train_set``;
its environment steps are the experiment's ``steps`` (one number or one per env) or the config's,
its seeds the method's ``seeds``, else the experiment's, else the config's (a method that
needs fewer seeds than the rest, as BCO beside the methods compared, gets its own);
its agent's action set is the experiment's ``agent_action_set`` (one or per env) or ``full``.

Runs live in ``results/runs/{env}/{algo}/{variant}/seed{seed}``. The variant is a name, never a
source of values (aggregation and figures read every setting from the run's ``config.json``):
``default`` for a method with no settings of its own in an experiment with none, the method's
name or the swept value otherwise, prefixed by the experiment's name where the experiment has
settings of its own. The same variant always means the same settings, so a run that two
experiments share is trained once; two meanings of one variant are an error at start.

``plan(config)`` does all of this once and checks every setting against the algorithm's config
fields (``--set``'s own parser), so a bad key or value fails at start, naming it.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from algos.algorithms import ALGORITHMS, DIIQN_FAMILY, DQNConfig, revision
from algos.config import ConfigError, apply_overrides
from algos.envs import EnvError, is_maze, resolve_action_set
from algos.values import non_finite

SWEEP_KEYS = {"dataset_size": "dataset.size", "agent_action_set": "env.action_set"}
"""Sweep keys that are not algorithm settings -> where the run's config.json holds them (an
algorithm setting ``k`` is at ``algo_config.k``)."""


class PlanError(ValueError):
    """A config that cannot become runs: the message names the experiment and the key."""


@dataclass(frozen=True)
class Run:
    """One training run: what the train command gets, and where it writes."""

    env: str
    algo: str
    variant: str
    seed: int
    steps: int
    action_set: str
    dataset_size: int | None  # None: no dataset (DQN)
    settings: tuple[tuple[str, Any], ...]  # sorted by key, typed

    @property
    def folder(self) -> str:
        return f"results/runs/{self.env}/{self.algo}/{self.variant}/seed{self.seed}"

    def options(self) -> str:
        """The train command's options beyond algo, game, seed, steps, out and dataset, in one
        canonical order and form, so the same settings always give the same command."""
        parts = [f"--set {shlex.quote(f'{key}={_text(value)}')}" for key, value in self.settings]
        if self.action_set != "full":
            parts.append(f"--action-set {shlex.quote(self.action_set)}")
        return " ".join(parts)


@dataclass
class Experiment:
    """An experiment's methods and runs."""

    name: str
    envs: list[str]
    methods: dict[str, list[Run]]  # method label -> its runs (over envs, seeds, sweep values)
    sweep: dict | None = None  # {"key", "config_path", "label", "values"}

    @property
    def runs(self) -> list[Run]:
        return [run for runs in self.methods.values() for run in runs]

    def manifest(self) -> dict:
        """What the aggregate step needs to know beyond the run folders: each run's method, the
        swept setting (where config.json holds it), and what the figures may draw."""
        return {"experiment": self.name,
                "runs": [{"folder": run.folder, "method": method, "env": run.env,
                          "seed": run.seed}
                         for method, runs in self.methods.items() for run in runs],
                "sweep": self.sweep,
                "algos": sorted({run.algo for run in self.runs})}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _per_env(value, env: str, what: str, experiment: str):
    if isinstance(value, dict):
        if env not in value:
            raise PlanError(f"experiments.{experiment}.{what} has no entry for {env!r}")
        return value[env]
    return value


def _checked(algo: str, settings: dict, where: str) -> tuple[tuple[str, Any], ...]:
    """``settings`` parsed and validated as ``--set`` options of ``algo``, in canonical form:
    typed, sorted, and only those that differ from the algorithm's defaults (so two spellings
    of one configuration are one run and one command)."""
    if algo not in ALGORITHMS:
        raise PlanError(f"{where}: unknown algorithm {algo!r}; valid: "
                        f"{', '.join(sorted(ALGORITHMS))}")
    cls = ALGORITHMS[algo].config
    try:
        parsed = apply_overrides(cls(), [f"{k}={_text(v)}" for k, v in settings.items()])
    except ConfigError as err:
        raise PlanError(f"{where}: {err}") from None
    defaults = cls()
    return tuple((f.name, getattr(parsed, f.name)) for f in sorted(
        dataclasses.fields(cls), key=lambda f: f.name)
        if getattr(parsed, f.name) != getattr(defaults, f.name))


def _methods(spec: list, where: str) -> list[tuple[str, str, dict, list[int] | None]]:
    """(label, algo, settings, seeds) of each method entry: an algorithm name or {name, algo,
    set, seeds}; seeds None where the entry gives none (the experiment's apply)."""
    out = []
    for entry in spec:
        if isinstance(entry, str):
            out.append((entry, entry, {}, None))
            continue
        label, seeds = entry.get("name", entry["algo"]), entry.get("seeds")
        if seeds is not None and len(set(seeds)) != len(seeds):
            raise PlanError(f"{where}.methods ({label}).seeds: {seeds} lists a seed twice")
        out.append((label, entry["algo"], dict(entry.get("set", {})), seeds))
    labels = [label for label, *_ in out]
    if len(set(labels)) != len(labels):
        raise PlanError(f"{where}.methods: two methods named alike ({', '.join(labels)})")
    return out


def plan(config: dict) -> dict[str, Experiment]:
    """Every experiment of ``config`` as runs; raises ``PlanError`` on a bad setting."""
    seeds = config["seeds"]
    if len(set(seeds)) != len(seeds):
        raise PlanError(f"seeds: {seeds} lists a seed twice (one run per seed)")
    _check_experts(config)
    meanings: dict[tuple[str, str, str], tuple] = {}  # (env, algo, variant) -> its settings
    experiments = {}
    for name, spec in config["experiments"].items():
        own = spec.get("seeds", seeds)
        if len(set(own)) != len(own):
            raise PlanError(f"experiments.{name}.seeds: {own} lists a seed twice")
        sweep = spec.get("sweep")
        if sweep:
            _check_sweep(name, sweep, _methods(spec["methods"], f"experiments.{name}"), spec)
        methods: dict[str, list[Run]] = {}
        for label, algo, method_set, method_seeds in _methods(spec["methods"],
                                                              f"experiments.{name}"):
            swept: dict[tuple, Any] = {}  # a run of this method -> the sweep value giving it
            anchor = bool(sweep) and label in sweep.get("anchors", [])
            for value in (sweep["values"] if sweep and not anchor else [None]):
                for run in _runs(config, name, spec, label, algo, method_set, value,
                                 method_seeds if method_seeds is not None else own,
                                 swept=not anchor):
                    _check_final_evaluations(run, algo, config["last_evaluations"], name)
                    meaning = (run.steps, run.action_set, run.dataset_size, run.settings)
                    if meanings.setdefault((run.env, algo, run.variant), meaning) != meaning:
                        raise PlanError(f"experiments.{name}: variant {run.variant!r} of "
                                        f"{algo} on {run.env} means other settings in another "
                                        "experiment; name the method differently")
                    other = swept.setdefault((run.env, run.seed, *meaning), value)
                    if other != value or type(other) is not type(value):
                        raise PlanError(f"experiments.{name}.sweep.values: {other!r} and "
                                        f"{value!r} are one setting of {sweep['key']} (the "
                                        f"same run of {label}, planned twice)")
                    methods.setdefault(label, []).append(run)
        sweep_info = None
        if sweep:
            sweep_info = {"key": sweep["key"], "label": sweep.get("label", sweep["key"]),
                          "config_path": SWEEP_KEYS.get(sweep["key"],
                                                        f"algo_config.{sweep['key']}"),
                          "values": list(sweep["values"]),
                          "anchors": list(sweep.get("anchors", []))}
        experiments[name] = Experiment(name, list(spec["envs"]), methods, sweep_info)
    return experiments


def _check_final_evaluations(run: Run, algo: str, last_evaluations: int, experiment: str
                             ) -> None:
    """The evaluations that play ``final_eval_episodes`` are the ones the score is read from."""
    settings = dict(run.settings)
    final = settings.get("final_evaluations", ALGORITHMS[algo].config().final_evaluations)
    if settings.get("final_eval_episodes") and final != last_evaluations:
        raise PlanError(f"experiments.{experiment}: final_evaluations is {final} but the score "
                        f"is read from the last {last_evaluations} evaluations "
                        "(last_evaluations); set them alike")


def check_schema(config: dict, schema: Path) -> None:
    """``PlanError`` in one line, naming the key, where ``config`` breaks the JSON schema in
    the file ``schema`` (Snakemake's own check prints the whole schema before the key)."""
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(yaml.safe_load(Path(schema).read_text()))
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        bad = non_finite(config)  # JSON schema's "number" takes NaN and the infinities
        if bad:
            raise PlanError(f"{bad[0]}: expected a finite number, got {_dig(config, bad[0])}")
        return
    where = ".".join(map(str, error.absolute_path)) or "the config's top level"
    message = " ".join(error.message.split())
    raise PlanError(f"{where}: {message[:300]}{'...' if len(message) > 300 else ''}")


def _dig(config: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        config = config[int(key)] if isinstance(config, list) else config[key]
    return config


def _check_sweep(name: str, sweep: dict, methods: list[tuple[str, str, dict, Any]],
                 spec: dict) -> None:
    """A sweep has two values or more, its anchors are methods of the experiment, and every
    other method has the swept setting."""
    where = f"experiments.{name}.sweep"
    values = list(sweep["values"])
    if len(values) < 2:
        raise PlanError(f"{where}.values: {values} is one value, no sweep: give two or more, or "
                        f"set {sweep['key']} in experiments.{name}.set")
    labels = [label for label, *_ in methods]
    for anchor in sweep.get("anchors", []):
        if anchor not in labels:
            raise PlanError(f"{where}.anchors: {anchor!r} is not a method of the experiment "
                            f"({', '.join(labels)})")
    swept = [m for m in methods if m[0] not in sweep.get("anchors", [])]
    if not swept:
        raise PlanError(f"{where}.anchors: every method is an anchor; nothing is swept")
    if sweep["key"] == "agent_action_set":
        if "agent_action_set" in spec:
            raise PlanError(f"{where}: agent_action_set is swept; leave "
                            f"experiments.{name}.agent_action_set out")
        for value in values:
            for env in spec["envs"]:
                try:
                    resolve_action_set(env, str(value))
                except EnvError as err:
                    raise PlanError(f"{where}.values: {value!r} on {env}: {err}") from None
    if sweep["key"] == "dataset_size":
        for label, algo, _, _ in swept:
            if not (algo in ALGORITHMS and ALGORITHMS[algo].needs_dataset):
                raise PlanError(f"{where}: dataset_size is swept, but method {label!r} ({algo}) "
                                "learns without a dataset; leave it out of this experiment")


def _check_experts(config: dict) -> None:
    """The experts' settings: ``experts.set`` as DQN's ``--set`` options, a scripted expert
    only where it can play, a training budget for every env whose expert is trained."""
    experts = config["experts"]
    try:
        apply_overrides(DQNConfig(),  # an expert is a DQN (python -m algos expert)
                        [f"{k}={_text(v)}" for k, v in experts.get("set", {}).items()])
    except ConfigError as err:
        raise PlanError(f"experts.set: {err}") from None
    scripted = experts.get("scripted", {})
    for env, spec in scripted.items():
        if not is_maze(env):
            raise PlanError(f"experts.scripted.{env}: the {spec['name']} expert plays the mazes "
                            f"only, and {env} is a MinAtar game (train its expert: leave it out "
                            "of experts.scripted)")
        try:
            resolve_action_set(env, spec["action_set"])
        except EnvError as err:
            raise PlanError(f"experts.scripted.{env}.action_set: {err}") from None
    steps = experts["steps"]
    if isinstance(steps, dict):
        envs = {env for spec in config["experiments"].values() for env in spec["envs"]}
        for env in sorted(envs - set(scripted) - set(steps)):
            raise PlanError(f"experts.steps has no entry for {env!r} (its expert is trained)")


def _runs(config: dict, name: str, spec: dict, label: str, algo: str, method_set: dict,
          value: Any, seeds: list[int], swept: bool = True) -> list[Run]:
    """The runs of one method of experiment ``name`` (at one value of its sweep, if any, and
    ``swept``: an anchor of the sweep is trained once, at its own settings), over its envs and
    ``seeds``."""
    sweep = spec.get("sweep") if swept else None
    settings = {**config.get("train_set", {}),
                **(config.get("diiqn_set", {}) if algo in DIIQN_FAMILY else {}),
                **spec.get("set", {}), **method_set}
    size = config["dataset"]["size"]
    swept_actions = None
    if sweep and sweep["key"] == "dataset_size":
        size = value
    elif sweep and sweep["key"] == "agent_action_set":
        swept_actions = value
    elif sweep:
        settings[sweep["key"]] = value
    # The variant: the method's name, the swept value where it is not the default, after the
    # experiment's name where the run's settings or steps are the experiment's own (a run at
    # the config's settings and steps is one run, whichever experiment lists it).
    parts = [] if label == algo else [label]
    if sweep and value != _sweep_default(config, sweep, algo):
        # An action set such as "left,right" names a folder as left-right.
        parts.append(f"{sweep['key']}-{_text(value).replace(',', '-')}")
    own_settings = any(key in spec for key in ("set", "agent_action_set"))
    checked = _checked(algo, settings, f"experiments.{name} ({label})")
    runs = []
    for env in spec["envs"]:
        action_set = swept_actions or _per_env(spec.get("agent_action_set", "full"), env,
                                               "agent_action_set", name)
        try:
            resolve_action_set(env, action_set)
        except EnvError as err:
            raise PlanError(f"experiments.{name}.agent_action_set: {err}") from None
        steps = _per_env(spec.get("steps", config["steps"]), env, "steps", name)
        own = own_settings or steps != config["steps"]
        # runs_as: an experiment that re-reads another's runs names its own after that one, so
        # the runs they share (the same settings) are one run, trained once.
        variant = "+".join(([spec.get("runs_as", name)] if own else []) + parts) or "default"
        runs += [Run(env, algo, variant, seed, steps, action_set,
                     size if ALGORITHMS[algo].needs_dataset else None, checked)
                 for seed in seeds]
    return runs


def _sweep_default(config: dict, sweep: dict, algo: str) -> Any:
    """The swept setting's value where the method does not set it: the dataset's default size,
    else the config's ``diiqn_set`` / ``train_set``, else the algorithm's own default."""
    key = sweep["key"]
    if key == "dataset_size":
        return config["dataset"]["size"]
    if key == "agent_action_set":
        return "full"  # the experiments' default
    for block in ((config.get("diiqn_set", {}) if algo in DIIQN_FAMILY else {}),
                  config.get("train_set", {})):
        if key in block:
            return block[key]
    cls = ALGORITHMS[algo].config
    return getattr(cls(), key) if key in {f.name for f in dataclasses.fields(cls)} else None


def only_finished(experiments: dict[str, Experiment], log: TextIO | None = None
                  ) -> dict[str, Experiment]:
    """``experiments`` with only their finished runs (``summary.json`` in the run's folder,
    relative to the working directory) of this code's revision (a stale run would be trained
    again) and the envs these are on; an experiment with none is left out, and ``log`` (if
    given) is told what was left out."""
    kept = {}
    for name, experiment in experiments.items():
        methods = {label: [run for run in runs if _finished_by_this_code(run)]
                   for label, runs in experiment.methods.items()}
        methods = {label: runs for label, runs in methods.items() if runs}
        finished = sum(map(len, methods.values()))
        if log is not None:
            print(f"finished_only: {name}: {finished} of {len(experiment.runs)} runs finished "
                  "by this code's revision" + ("" if finished else "; left out"), file=log)
        if finished:
            # Only the envs with a finished run: an env without one needs no expert (its
            # expert might be hours of training).
            envs = [env for env in experiment.envs
                    if any(run.env == env for runs in methods.values() for run in runs)]
            kept[name] = dataclasses.replace(experiment, envs=envs, methods=methods)
    return kept


def _finished_by_this_code(run: Run) -> bool:
    import json

    folder = Path(run.folder)
    if not (folder / "summary.json").is_file():
        return False
    try:
        return json.loads((folder / "config.json").read_text()).get("revision") == \
            revision(run.algo)
    except (OSError, ValueError, AttributeError):
        return True  # a damaged run: the train job names it
