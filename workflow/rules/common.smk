"""The config as runs (algos.evidence.experiments), and each job's inputs, options and resources.

A run is (env, algo, variant, seed) in results/runs/{env}/{algo}/{variant}/seed{seed}; its
settings come from the config through algos.evidence.experiments.plan, which checks them all at
start, and so are the claims of config/claims.yaml against them.
"""

import fcntl
import hashlib
import json
import os
import re
import shlex
import sys
from pathlib import Path

import snakemake.exceptions
from snakemake.exceptions import WorkflowError

from algos.algorithms import ALGORITHMS
from algos.data.datasets import read_info
from algos.errors import UserError
from algos.evidence import claims_file
from algos.evidence.experiments import PlanError, only_finished, plan
from algos.evidence.figures import FIGURES, figures_for
from algos.provenance.readers import read_expert_info, read_run, run_key, unplanned_scored
from algos.provenance.runs import atomic_write_text

# Jobs run the `python` of the environment that runs Snakemake (a job on a SLURM node parses
# this file again, with the same Python): its folder goes first on the jobs' PATH.
BIN = shlex.quote(str(Path(sys.executable).parent))
shell.prefix(f"set -euo pipefail; export PATH={BIN}:$PATH; ")

# A second Snakemake on files the first one writes: Snakemake's own message suggests --unlock,
# which is safe only once the first has stopped. Each Snakemake that runs jobs holds a lock on a
# file of its own (the kernel releases it at any exit, kill -9 included), so the message can
# say whether the lock's holder still runs.
OWNERS = Path(".snakemake") / "diiqn-owners"


def live_owners() -> list[int]:
    """The PIDs of the other Snakemakes running jobs in this folder (stale entries removed)."""
    pids = []
    for path in sorted(OWNERS.glob("*")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            path.unlink(missing_ok=True)  # its Snakemake is gone
        except BlockingIOError:
            if path.name != str(os.getpid()):
                pids.append(int(path.name) if path.name.isdigit() else -1)
        finally:
            os.close(fd)
    return pids


class LockInUse(snakemake.exceptions.LockException):
    def __init__(self):
        pids = live_owners()
        if not pids:
            super().__init__()  # a lock left by a Snakemake that is gone: --unlock is right
            return
        WorkflowError.__init__(
            self, f"Error: another Snakemake (PID {', '.join(map(str, pids))}) is running in "
            f"{os.getcwd()} and writes the same files: wait for it to finish, or stop it first. "
            "Do not use --unlock while it runs.")


if workflow.is_main_process and not workflow.dryrun:
    OWNERS.mkdir(parents=True, exist_ok=True)
    OWNER_FD = os.open(OWNERS / str(os.getpid()), os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(OWNER_FD, fcntl.LOCK_EX)
    snakemake.exceptions.LockException = LockInUse

try:
    PLANNED = plan(config)
    # The claims are written for the default config; another (--configfile) is held to their
    # names alone.
    CLAIMS = claims_file.load(experiments=PLANNED,
                              other_scale=bool(workflow.overwrite_configfiles))
except (PlanError, claims_file.ClaimsFileError) as err:
    raise WorkflowError(f"config: {err}") from None
EXPERIMENTS = PLANNED  # the runs to train and wait for
if config["finished_only"]:  # the committed runs alone: figures without training
    EXPERIMENTS = only_finished(PLANNED, log=sys.stderr)
RUNS = {(run.env, run.algo, run.variant, str(run.seed)): run
        for experiment in EXPERIMENTS.values() for run in experiment.runs}



def unplanned_run(key: tuple[str, str, str, str]) -> str:
    """The message for a run folder that is none of the config's runs."""
    env, algo, variant, seed = key
    return (f"results/runs/{env}/{algo}/{variant}/seed{seed} is no run of the config's "
            "experiments" + (" that has finished (finished_only)" if config["finished_only"]
                             else "") + ": name a run the config plans (its experiments: "
            "snakemake --list-target-rules)")


# The train rule's wildcards take only what the config plans, so a target in a run folder it
# does not plan is Snakemake's one line "No rule to produce ...", not a traceback.
PLANNED_PARTS = {part: "|".join(sorted({re.escape(key[i]) for key in RUNS})) or "none"
                 for i, part in enumerate(("env", "algo", "variant"))}


def run_of(wildcards):
    key = (wildcards.env, wildcards.algo, wildcards.variant, wildcards.seed)
    if key not in RUNS:
        raise WorkflowError(unplanned_run(key))
    return RUNS[key]


def dataset_file(env: str, size, suffix: str = ".npz") -> str:
    return f"results/datasets/{env}/n{size}{suffix}"


def train_inputs(wildcards) -> dict:
    run = run_of(wildcards)
    if run.dataset_size is None:
        return {}
    return {"dataset": dataset_file(run.env, run.dataset_size, ".done")}


def train_options(wildcards) -> str:
    """Options of python -m algos train beyond algo, game, seed, steps and out."""
    run = run_of(wildcards)
    options = [run.options()]
    if run.dataset_size is not None:
        options.append(f"--dataset {shlex.quote(dataset_file(run.env, run.dataset_size))}")
    return " ".join(o for o in options if o)


def train_runtime(wildcards) -> int:
    run = run_of(wildcards)
    # Each algorithm's CPU time per step (measured: results/benchmarks/train/**.tsv), with a
    # margin of 1.5 and 10 minutes.
    return int(run.steps * ALGORITHMS[run.algo].ms_per_step * 1.5 / 60_000) + 10


def experiment_summaries(wildcards) -> list[str]:
    return [f"{run.folder}/workflow.done" for run in EXPERIMENTS[wildcards.experiment].runs]


def experiment_experts(wildcards) -> list[str]:
    return [f"results/experts/{env}/workflow.done"
            for env in sorted(EXPERIMENTS[wildcards.experiment].envs)]


def aggregate_marker(name: str) -> str:
    """The aggregate job's output: a marker, never the committed tables (aggregate.smk)."""
    return f"results/aggregate/{name}/workflow.done"


def made_from_aggregate(name: str) -> list[str]:
    """The markers of what is made from experiment ``name``'s aggregate: its figures' and the
    claims'. A job that remakes the aggregate removes them first, so that, interrupted, it is
    redone on restart: Snakemake does not remake a missing file while what was made from it is
    there."""
    return [f"figures/{name}/workflow.done", "results/aggregate/claims.done"]


def forget(name: str) -> None:
    """Remove every marker of experiment ``name`` from its manifest on (and the claims'), so
    that the next workflow makes them all again."""
    for marker in (f"results/aggregate/{name}/manifest.done", aggregate_marker(name),
                   *made_from_aggregate(name)):
        Path(marker).unlink(missing_ok=True)


FIGURE_CAPTIONS = {name: figure.caption for name, figure in FIGURES.items()}
"""Each figure's caption, for the report (workflow/report/figure.rst reads it by name)."""


def reported_figures(name: str) -> list:
    """Experiment ``name``'s figures folder, flagged for the report (--report), where it exists.
    An input of the targets, not the figures job's output: an output is what Snakemake deletes
    when its job fails, and the figures are committed."""
    folder = Path("figures") / name
    if not folder.is_dir():
        return []
    return [report(str(folder), patterns=["{figure}.png"], category=name,
                   caption=str(Path(workflow.basedir) / "workflow" / "report" / "figure.rst"))]


def reported_claims() -> list:
    """claims.csv, flagged for the report, where it exists (as ``reported_figures``)."""
    table = Path("results/aggregate/claims.csv")
    if not table.is_file():
        return []
    return [report(str(table), category="Claims of the paper",
                   caption=str(Path(workflow.basedir) / "workflow" / "report" / "claims.rst"))]


def experiment_figures(name: str) -> list[str]:
    """The names of the figures that apply to experiment ``name`` (what ``plot`` draws)."""
    experiment = EXPERIMENTS[name]
    return figures_for({run.algo for run in experiment.runs}, experiment.sweep is not None)


def manifest_json(manifest: dict) -> str:
    """A manifest as its file holds it."""
    return json.dumps(manifest, indent=2) + "\n"


def refresh_manifests() -> None:
    """Rewrite, at the workflow's start, each manifest on disk that is not the config's plan (a
    method added to an experiment, say), and forget its experiment's markers, so that it is
    aggregated again. Snakemake reruns a job whose params changed only from its own metadata,
    which a fresh clone lacks for the committed manifests: the new method was once trained and
    left out of its aggregate. A manifest is made from the config alone, so a dry run rewrites
    it too (and then shows the aggregate it reruns): at parse time Snakemake does not yet say
    whether it is a dry run, so the message says what is true in both (and when the experiment
    is not the target). A committed aggregate that scores runs the config no longer plans
    is named: rebuilt, it leaves them out."""
    for name, experiment in PLANNED.items():
        path = Path(f"results/aggregate/{name}/manifest.json")
        planned = manifest_json(experiment.manifest())
        if path.is_file() and path.read_text() != planned:
            atomic_write_text(path, planned)
            forget(name)
            print(f"{path}: rewritten to the config's plan; {name}'s aggregate is out of "
                  f"date and is redone by the next run that targets it", file=sys.stderr)
        gone = unplanned_scored(path.parent, {run_key(run.folder) for run in experiment.runs})
        if gone:
            print(f"{path.parent}: its aggregate scores {len(gone)} runs the config no longer "
                  f"plans ({', '.join(gone)}); rebuilt, it leaves them out", file=sys.stderr)


def check_committed() -> None:
    """Read, at the workflow's start, every finished run of the experiments, their experts'
    descriptions and their datasets' descriptions through their readers (seals, identity,
    rows), and stop naming the first that does not read back. A job's marker says that its
    command succeeded once, not that its product is still whole: without this, a committed run
    cut or edited after its marker was written would be aggregated, or left as it is, without a
    word."""
    envs, datasets = set(), set()
    try:
        for experiment in EXPERIMENTS.values():
            for run in experiment.runs:
                envs.add(run.env)
                if run.dataset_size is not None:
                    datasets.add(dataset_file(run.env, run.dataset_size, ".json"))
                if Path(run.folder, "summary.json").is_file():
                    read_run(Path(run.folder))
        for env in sorted(envs):
            if Path(f"results/experts/{env}/expert.json").is_file():
                read_expert_info(Path(f"results/experts/{env}"))
        for description in sorted(datasets):
            if Path(description).is_file():
                read_info(Path(description))
    except UserError as err:
        raise WorkflowError(f"{err}: restore it (git checkout), or move it away to make it "
                            "again") from None


def write_manifest(path: str, manifest: dict, after: list[str], log: str) -> None:
    """The manifest rule's one step: the experiment's runs and sweep into ``manifest.json``
    beside the marker ``path`` (by a rename: it is committed), once the markers ``after`` (of
    what is made from it) are removed; the marker holds its checksum."""
    for marker in after:
        Path(marker).unlink(missing_ok=True)
    text = manifest_json(manifest)
    table = Path(path).with_name("manifest.json")
    atomic_write_text(table, text)
    Path(path).write_text(f"{hashlib.sha256(text.encode()).hexdigest()}  {table}\n")
    Path(log).write_text(f"{len(manifest['runs'])} runs\n")


if workflow.is_main_process:
    refresh_manifests()
    check_committed()


def expert_options(wildcards) -> str:
    experts = config["experts"]
    scripted = experts["scripted"].get(wildcards.env)
    common = f"--seed 0 --eval-episodes {experts['eval_episodes']}"
    if scripted:
        return (f"--scripted {scripted['name']} "
                f"--action-set {shlex.quote(scripted['action_set'])} {common}")
    steps = experts["steps"]
    if isinstance(steps, dict):
        if wildcards.env not in steps:
            raise WorkflowError(f"config: experts.steps has no entry for {wildcards.env!r}")
        steps = steps[wildcards.env]
    options = [f"--steps {steps}",
               f"--stop-fraction {experts['stop_fraction']}", common]
    options += [f"--set {shlex.quote(f'{k}={v}')}" for k, v in sorted(experts["set"].items())]
    reference = experts["reference_scores"].get(wildcards.env)
    if reference is not None:
        options.append(f"--reference-score {reference}")
    return " ".join(options)


wildcard_constraints:
    seed=r"\d+",
    size=r"\d+",
    variant=r"[A-Za-z0-9_.+\-]+",
    experiment="|".join(EXPERIMENTS) or "none",
