"""Helpers: the config -> the runs of each experiment, and each run's command-line arguments.

A run is (env, algo, variant, seed) and lives in results/runs/{env}/{algo}/{variant}/seed{seed}.
A variant names the settings that differ from the defaults; its name means the same thing in
every experiment, so a run two experiments share (the default DIIQN run) is trained once.
"""

import shlex
import sys

from algos.diiqn import DIIQNConfig

PY = shlex.quote(sys.executable)  # the Python that runs Snakemake: the project's environment
NEEDS_DATASET = {"diiqn", "ha_diiqn", "bco", "gaifo", "oril"}
DIIQN_FAMILY = {"diiqn", "ha_diiqn"}
EXPERIMENTS = list(config["experiments"])
DEFAULT_SIZE = config["dataset"]["size"]
DIIQN_DEFAULTS = DIIQNConfig()
AGENT_ACTIONS = "agent-actions"  # the variant of the heterogeneous experiment


def _variants() -> dict:
    """Variant name -> {"set": {...}, "size": dataset size, "agent_actions": the heterogeneous
    experiment's per-env agent action set}."""
    found = {"default": {}}

    def add(name, spec):
        if name in found and found[name] != spec:
            raise ValueError(f"variant {name!r} is defined twice with different settings")
        found[name] = spec

    exps = config["experiments"]
    for name, settings in exps.get("confidence_ablation", {}).get("variants", {}).items():
        add(name, {"set": settings})
    for size in exps.get("dataset_size", {}).get("sizes", []):
        if size != DEFAULT_SIZE:
            add(f"data-{size}", {"size": size})
    for value in exps.get("cmax_sensitivity", {}).get("values", []):
        if value != DIIQN_DEFAULTS.c_max:
            add(f"cmax-{value}", {"set": {"c_max": value}})
    for value in exps.get("tau_sensitivity", {}).get("values", []):
        if value != DIIQN_DEFAULTS.tau:
            add(f"tau-{value:g}", {"set": {"tau": value}})
    if "heterogeneous" in exps:
        # One name on every maze, so that each method has a score on each env; the action set
        # itself is the env's (train_options).
        add(AGENT_ACTIONS, {"agent_actions": True})
    return found


def agent_action_set(env: str) -> str:
    """The agent's action set in the heterogeneous experiment: one for all envs, or per env."""
    spec = config["experiments"]["heterogeneous"]["agent_action_set"]
    if isinstance(spec, str):
        return spec
    if env not in spec:
        raise ValueError(f"experiments.heterogeneous.agent_action_set has no entry for {env!r}")
    return spec[env]


VARIANTS = _variants()


def experiment_runs(experiment: str) -> list[tuple[str, str, str, int]]:
    """The runs (env, algo, variant, seed) an experiment compares."""
    spec = config["experiments"][experiment]
    seeds = config["seeds"]
    if experiment == "baseline":
        combos = [(env, algo, "default") for env in spec["envs"] for algo in spec["algos"]]
    elif experiment == "heterogeneous":
        combos = [(env, algo, AGENT_ACTIONS) for env in spec["envs"] for algo in spec["algos"]]
    else:
        algo = spec.get("algo", "diiqn")
        if experiment == "confidence_ablation":
            names = ["default", *spec["variants"]]
        elif experiment == "dataset_size":
            names = [f"data-{s}" if s != DEFAULT_SIZE else "default" for s in spec["sizes"]]
        elif experiment == "cmax_sensitivity":
            names = [f"cmax-{v}" if v != DIIQN_DEFAULTS.c_max else "default"
                     for v in spec["values"]]
        else:  # tau_sensitivity
            names = [f"tau-{v:g}" if v != DIIQN_DEFAULTS.tau else "default"
                     for v in spec["values"]]
        combos = [(env, algo, name) for env in spec["envs"] for name in names]
    return [(env, algo, variant, seed) for env, algo, variant in combos for seed in seeds]


def run_dir(env, algo, variant, seed) -> str:
    return f"results/runs/{env}/{algo}/{variant}/seed{seed}"


def experiment_summaries(wildcards) -> list[str]:
    return [f"{run_dir(*run)}/summary.json" for run in experiment_runs(wildcards.experiment)]


def experiment_experts(wildcards) -> list[str]:
    envs = sorted({env for env, *_ in experiment_runs(wildcards.experiment)})
    return [f"results/experts/{env}/expert.json" for env in envs]


def dataset_size(variant: str) -> int:
    return VARIANTS[variant].get("size", DEFAULT_SIZE)


def train_inputs(wildcards) -> dict:
    if wildcards.algo not in NEEDS_DATASET:
        return {}
    size = dataset_size(wildcards.variant)
    return {"dataset": f"results/datasets/{wildcards.env}/n{size}.npz"}


def _set_options(settings: dict) -> str:
    return " ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in settings.items())


def heterogeneous_settings(algo: str) -> dict:
    """The heterogeneous experiment's own settings of ``algo``: ``set`` for every method, then
    ``diiqn_set`` for DIIQN and HA-DIIQN."""
    spec = config["experiments"]["heterogeneous"]
    return {**spec.get("set", {}), **(spec.get("diiqn_set", {}) if algo in DIIQN_FAMILY
                                      else {})}


def train_options(wildcards, input) -> str:
    """Options of python -m algos train beyond algo, game, seed, steps and out."""
    spec = VARIANTS[wildcards.variant]
    settings = {**config.get("train_set", {}), **spec.get("set", {})}
    if spec.get("agent_actions"):
        settings.update(heterogeneous_settings(wildcards.algo))
    options = [_set_options(settings)]
    if spec.get("agent_actions"):
        options.append(f"--action-set {shlex.quote(agent_action_set(wildcards.env))}")
    if "dataset" in input.keys():
        options.append(f"--dataset {shlex.quote(input.dataset)}")
    return " ".join(o for o in options if o)


# CPU milliseconds per training step, evaluation included, measured at the default scale
# (results/benchmarks/train/**.tsv, cpu_time / steps: DQN 1.3-1.9, DIIQN 2.5-3.5, BCO 3.2,
# ORIL 4.8, GAIfO 5.5), rounded up; the maze runs are cheaper.
MS_PER_STEP = {"dqn": 2.0, "diiqn": 3.5, "ha_diiqn": 3.5, "bco": 3.5, "oril": 5.0, "gaifo": 6.0}


def train_steps(wildcards) -> int:
    """Environment steps of a run: the heterogeneous experiment's own ``steps`` where it sets
    them (a maze needs far fewer than a MinAtar game at paper scale), else the config's."""
    if VARIANTS[wildcards.variant].get("agent_actions"):
        return config["experiments"]["heterogeneous"].get("steps", config["steps"])
    return config["steps"]


def train_runtime(wildcards) -> int:
    """SLURM time limit of a train job in minutes: 1.5 x the measured time per step, + 10 min."""
    return int(train_steps(wildcards) * MS_PER_STEP[wildcards.algo] * 1.5 / 60_000) + 10


def expert_options(wildcards) -> str:
    experts = config["experts"]
    scripted = experts.get("scripted", {}).get(wildcards.env)
    common = f"--seed 0 --eval-episodes {experts.get('eval_episodes', 100)}"
    if scripted:
        return (f"--scripted {scripted['name']} "
                f"--action-set {shlex.quote(scripted['action_set'])} {common}")
    options = [f"--steps {experts['steps']}",
               f"--stop-fraction {experts.get('stop_fraction', 0.5)}", common,
               _set_options(experts.get("set", {}))]
    reference = experts.get("reference_scores", {}).get(wildcards.env)
    if reference is not None:
        options.append(f"--reference-score {reference}")
    return " ".join(o for o in options if o)


def sweep_options(wildcards) -> str:
    """The plot command's --sweep label and where the default variant stands."""
    sweeps = {"dataset_size": ("expert dataset size (transitions)", DEFAULT_SIZE),
              "cmax_sensitivity": ("c_max", DIIQN_DEFAULTS.c_max),
              "tau_sensitivity": ("similarity threshold τ", DIIQN_DEFAULTS.tau)}
    label, default = sweeps[wildcards.experiment]
    return f"--sweep {shlex.quote(label)} --sweep-default {default}"


FIGURES = ["learning_curves", "aggregates", "profiles", "improvement"]
SWEEPS = {"dataset_size", "cmax_sensitivity", "tau_sensitivity"}


def experiment_figures(experiment: str) -> list[str]:
    with_diagnostics = any(algo in DIIQN_FAMILY
                           for _, algo, _, _ in experiment_runs(experiment))
    with_bridges = any(algo == "ha_diiqn" for _, algo, _, _ in experiment_runs(experiment))
    names = (FIGURES + (["sweep"] if experiment in SWEEPS else [])
             + (["diagnostics"] if with_diagnostics else [])
             + (["bridging"] if with_bridges else []))
    return [f"figures/{experiment}/{name}.png" for name in names]


wildcard_constraints:
    seed=r"\d+",
    size=r"\d+",
    variant=r"[A-Za-z0-9_.+\-]+",
    experiment="|".join(EXPERIMENTS) or "none",
