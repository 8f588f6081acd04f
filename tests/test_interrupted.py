"""The workflow on a copy of the committed evidence (one small experiment: its runs, expert,
dataset description, aggregate and figures, in a git repository of its own): no job's
declared output is a committed file, so neither a failed job nor an interrupted one deletes
evidence; an aggregate or figures job interrupted at a random point is redone by the
documented restart, and the staging step then finds nothing lost or changed; a committed run
damaged after its marker was written, or lost, stops the workflow by name
(docs/faults.md, "Committed evidence")."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from algos.evidence.experiments import plan
from conftest import NO_SLURM_ENV, ROOT, SNAKEMAKE, cli, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("interrupted")]

EXPERIMENT = "tau_sensitivity"  # one expert, one dataset
def first_of_each_cell(runs: list) -> list:
    """The first committed run of each cell (method and swept value) of ``runs``: the copy
    holds these alone, so an aggregate takes seconds and a random moment of the job is as
    likely as any other (the whole experiment's grew with its runs: 90 s to rebuild, 110 s to
    interrupt and restart)."""
    first: dict[str, object] = {}
    for run in runs:
        if (ROOT / run.folder / "summary.json").is_file():
            first.setdefault(str(Path(run.folder).parent), run)
    return list(first.values())

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
PLAN = plan(CONFIG)
REBUILD = [EXPERIMENT, "--cores", "1", "--config", "finished_only=True"]  # docs/runs.md, step 4


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def _commit(repo: Path, message: str) -> None:
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--allow-empty", "-qm",
        message)


def _mark(repo: Path, marker: str, product: str) -> None:
    """A job's marker as the workflow writes it (the checksum of its product)."""
    digest = hashlib.sha256((repo / product).read_bytes()).hexdigest()
    (repo / marker).write_text(f"{digest}  {product}\n")
    time.sleep(0.01)  # each marker newer than the one before it


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Path:
    """A git repository with the first committed run of each cell of the experiment, its expert
    and dataset description, aggregated and drawn once by the workflow and committed; with
    the markers a workflow on this machine leaves, so that nothing is trained or rolled out
    again."""
    repo = tmp_path_factory.mktemp("committed") / "repo"
    experiment = PLAN[EXPERIMENT]

    def copy(relative: str) -> None:
        source, target = ROOT / relative, repo / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(
                "checkpoint", "tensorboard", ".lock", "*.done", ".snakemake_timestamp"))
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)

    finished = first_of_each_cell(experiment.runs)
    assert len(finished) >= 3, f"fewer than three cells of {EXPERIMENT} have a committed run"
    for run in finished:
        copy(run.folder)
    for env in experiment.envs:
        copy(f"results/experts/{env}")
        for description in (ROOT / "results" / "datasets" / env).glob("*.json"):
            copy(str(description.relative_to(ROOT)))
    # The aggregate and figures of these runs are made by the rebuild below (the committed
    # ones score every run: rebuilt from a few, they would stop as an aggregate losing runs).
    for relative in (".gitignore", ".gitattributes"):
        copy(relative)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    _commit(repo, "the committed evidence")
    for env in experiment.envs:
        _mark(repo, f"results/experts/{env}/workflow.done", f"results/experts/{env}/expert.json")
    for description in sorted((repo / "results" / "datasets").glob("*/*.json")):
        relative = description.relative_to(repo)
        _mark(repo, str(relative.with_suffix(".done")), str(relative))
    for run in finished:
        _mark(repo, f"{run.folder}/workflow.done", f"{run.folder}/summary.json")
    result = snakemake(*REBUILD, cwd=repo)
    assert result.returncode == 0, result.stderr[-3000:]
    status = git(repo, "status", "--porcelain")
    assert not [line for line in status.splitlines() if "D" in line[:2]], status
    assert cli("stage", str(repo)).returncode == 0
    _commit(repo, "rebuilt by this code")
    return repo


@pytest.fixture
def repo(committed, tmp_path) -> Path:
    """A copy of the committed repository (with Snakemake's own metadata)."""
    copy = tmp_path / "repo"
    shutil.copytree(committed, copy, symlinks=True)
    return copy


def test_no_declared_output_of_any_job_is_a_committed_file(tmp_path):
    """What Snakemake deletes when a job fails, is interrupted or is rerun is its declared
    outputs: over every job of the default config, each is a marker git ignores."""
    result = snakemake("all_figures", "--summary", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [line.split("\t")[0] for line in result.stdout.splitlines()[1:] if "\t" in line]
    assert len(outputs) > 200 and all(path.endswith(".done") for path in outputs), outputs
    tracked = set(git(ROOT, "ls-files", "results", "figures").split())
    assert not tracked & set(outputs)
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT,
                             input="\n".join(outputs), capture_output=True, text=True).stdout
    assert set(ignored.split()) == set(outputs)


def _interrupt(repo: Path, rule: str, delay: float) -> subprocess.CompletedProcess | None:
    """The rebuild with ``rule``'s job forced, Ctrl-C'd (SIGINT to its process group, as a
    terminal sends it) ``delay`` seconds after that job has started; None where it had
    finished by then."""
    log = repo / "logs" / ("figures" if rule == "figures" else "aggregate") / f"{EXPERIMENT}.log"
    log.unlink(missing_ok=True)
    # A terminal's Ctrl-C reaches a foreground job whose SIGINT is at its default; a suite
    # started in the background of a shell without job control inherits SIGINT ignored, and
    # then no Ctrl-C would reach the workflow at all.
    workflow = subprocess.Popen([*SNAKEMAKE, *REBUILD, "--forcerun", rule, "--directory",
                                 str(repo)], cwd=ROOT, env=NO_SLURM_ENV, text=True,
                                start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not log.exists() and workflow.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    try:
        os.killpg(workflow.pid, signal.SIGINT)
    except ProcessLookupError:  # it had finished
        workflow.communicate(timeout=300)
        return None
    output, _ = workflow.communicate(timeout=300)
    return subprocess.CompletedProcess(workflow.args, workflow.returncode, output, "")


@pytest.mark.parametrize("rule", ["aggregate", "figures"])
def test_an_interrupted_job_loses_nothing_and_is_redone_on_restart(repo, rule):
    """Interrupted anywhere in its job (a random moment of the job's few seconds, or just
    after it), then the documented restart (the same command with --rerun-incomplete) and the
    staging step: nothing committed is deleted or changed at any point, and the job's
    markers say it was redone from the tables there now."""
    delay = random.uniform(0.0, 8.0)
    where = f"Ctrl-C {delay:.2f} s into the {rule} job"
    interrupted = _interrupt(repo, rule, delay)
    assert interrupted is None or interrupted.returncode != 0, where
    assert git(repo, "status", "--porcelain") == "", (where, interrupted and
                                                      interrupted.stdout[-3000:])
    restart = snakemake(*REBUILD, "--rerun-incomplete", cwd=repo)
    assert restart.returncode == 0, (where, restart.stderr[-3000:])
    tables = repo / "results" / "aggregate" / EXPERIMENT / "tables.json"
    digest = hashlib.sha256(tables.read_bytes()).hexdigest()
    for marker in (tables.with_name("workflow.done"),
                   repo / "figures" / EXPERIMENT / "workflow.done"):
        assert marker.read_text().split()[0] == digest, where
    staged = cli("stage", str(repo))
    assert staged.returncode == 0, (where, staged.stderr)
    assert staged.stdout == "staged files: 0 (0 added, 0 modified, 0 deleted)\n", where
    assert git(repo, "status", "--porcelain") == "", where
    assert not list(repo.glob("figures/.*.tmp")) + list(repo.glob("results/aggregate/.*.tmp"))


def test_a_failed_job_leaves_the_committed_files_as_they_were(repo):
    """A figures job that fails (its tables damaged: plot refuses them) names the file and
    deletes nothing; the next rebuild stops on it again, the staging step too."""
    curves = repo / "results" / "aggregate" / EXPERIMENT / "curves.csv"
    curves.write_text(curves.read_text()[:-100])
    result = snakemake(*REBUILD, "--forcerun", "figures", cwd=repo)
    assert result.returncode != 0
    log = (repo / "logs" / "figures" / f"{EXPERIMENT}.log").read_text()
    assert "curves.csv: not the table its aggregate wrote" in log
    assert git(repo, "status", "--porcelain") == f" M results/aggregate/{EXPERIMENT}/curves.csv\n"
    staged = cli("stage", str(repo))
    assert staged.returncode == 2 and "curves.csv: not the table its aggregate wrote" in \
        staged.stderr and git(repo, "diff", "--cached", "--name-only") == ""


def test_a_committed_run_cut_after_its_marker_stops_the_workflow_by_name(repo):
    """Its marker says its job succeeded once; the workflow reads the run again at its start
    (and the staging step does)."""
    run = next(run for run in PLAN[EXPERIMENT].runs if (repo / run.folder).is_dir())
    metrics = repo / run.folder / "metrics.csv"
    metrics.write_bytes(metrics.read_bytes()[:300])
    result = snakemake(*REBUILD, cwd=repo)
    assert result.returncode != 0
    assert f"{run.folder}/metrics.csv: not the file its run wrote (its checksum differs from " \
           "the one in summary.json): cut, edited or swapped" in result.stderr
    staged = cli("stage", str(repo))
    assert staged.returncode == 2 and "metrics.csv: not the file its run wrote" in staged.stderr
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_a_committed_run_deleted_stops_the_aggregate_by_name(repo):
    run = [run for run in PLAN[EXPERIMENT].runs if (repo / run.folder).is_dir()][-1]
    shutil.rmtree(repo / run.folder)
    result = snakemake(*REBUILD, "--forcerun", "aggregate", cwd=repo)
    assert result.returncode != 0
    log = (repo / "logs" / "aggregate" / f"{EXPERIMENT}.log").read_text()
    assert f"it would lose 1 of the runs it scores ({run.folder})" in log
    deleted = {line[3:] for line in git(repo, "status", "--porcelain").splitlines()}
    assert all(path.startswith(run.folder) for path in deleted)  # only the run itself
    staged = cli("stage", str(repo))
    assert staged.returncode == 2 and f"{run.folder}/" in staged.stderr and "deleted" in \
        staged.stderr


def test_a_config_that_moves_committed_runs_out_of_the_plan_names_them_at_start(repo):
    config = json.loads(json.dumps(CONFIG))
    sweep = config["experiments"][EXPERIMENT]["sweep"]
    sweep["values"] = [value for value in sweep["values"] if value != 0.97]  # the default's
    still_planned = {run.folder for run in plan(config)[EXPERIMENT].runs}  # the anchors stay
    committed = sorted(run.folder for run in PLAN[EXPERIMENT].runs
                       if (repo / run.folder).is_dir() and run.folder not in still_planned)
    assert committed
    path = repo.parent / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("all_figures", "-n", "--configfile", str(path), "--config",
                       "finished_only=True", cwd=repo)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"results/aggregate/{EXPERIMENT}: its aggregate scores {len(committed)} runs the " \
           f"config no longer plans ({', '.join(committed)}); rebuilt, it leaves them out" in \
           result.stderr
