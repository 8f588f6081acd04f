"""The workflow on a real one-node SLURM cluster (munged, slurmctld, slurmd on 127.0.0.1) through
``--profile profiles/slurm``: every expert, dataset and training run is an sbatch job, and a job
that fails is reported as failed, not waited on forever.

The cluster comes from ``tests/slurm/cluster.sh`` (Debian's packages, installed on first use) and
is always torn down, by the PIDs it started. The workflow is the test config's dataset-size
experiment with one seed on the small grid maze: an expert, two datasets and two runs as SLURM
jobs, then the aggregate and figures locally (the local smoke workflow, tests/test_workflow.py,
covers every rule and figure; this checks the profile). Measured here (2 cores): install 4-10 s,
up ~1 s, the workflow ~50 s (three rounds of jobs, each found finished at the plugin's status
check 12 s after it was submitted), the failing job's workflow ~35 s, down ~6 s.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
# The first status check 1 s after a submission instead of the profile's 5 (the plugin then
# waits 10 s more per round until a job finishes): jobs of seconds on an idle cluster would
# otherwise wait longer for their status than they run.
SLURM_SNAKEMAKE = [*SNAKEMAKE, "--profile", str(ROOT / "profiles" / "slurm"),
                   "--slurm-init-seconds-before-status-checks", "1"]
# The plugin never gives up on a job it cannot see; a hang must fail the test, not the CI job.
WORKFLOW_TIMEOUT = 1200

# xdist_group: under pytest-xdist (make test), the tests sharing the cluster run on one worker.
pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.xdist_group("slurm_cluster")]


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to install and start munged, slurmctld and slurmd"
    if not Path("/usr/sbin/slurmctld").exists() and shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install it"
    return None


@pytest.fixture(scope="session")
def cluster():
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    state = Path(os.environ.get("SLURM_TEST_STATE", "/tmp/diiqn-slurm"))
    env = {**os.environ, "SLURM_TEST_STATE": str(state)}
    up = subprocess.run(["bash", str(CLUSTER), "up"], capture_output=True, text=True, env=env,
                        timeout=600)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield state
    finally:
        subprocess.run(["bash", str(CLUSTER), "down"], capture_output=True, env=env, timeout=120)


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*SLURM_SNAKEMAKE, *args, "--directory", str(cwd)], cwd=ROOT,
                          capture_output=True, text=True, timeout=WORKFLOW_TIMEOUT)


TARGET = "dataset_size"
# The maze's planner expert and short runs: each job then ends within the plugin's second status
# check (12 s after submission; the next is 21 s later), where Breakout's trained expert did not.
ENV = "grid_maze_small"


# Session scope: under xdist a worker may interleave other modules' tests, which would tear down
# and rebuild a module-scoped fixture (the whole workflow again).
@pytest.fixture(scope="session")
def slurm_smoke(cluster, tmp_path_factory) -> Path:
    """The test config's dataset-size experiment, one seed, on the small grid maze with 600-step
    runs, through the profile."""
    work = tmp_path_factory.mktemp("slurm_workflow")
    config = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())
    config["seeds"], config["steps"] = [0], 600
    config["experiments"] = {TARGET: {**config["experiments"][TARGET], "envs": [ENV]}}
    (work / "smoke.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(TARGET, "--configfile", str(work / "smoke.yaml"), cwd=work)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_every_run_is_a_slurm_job_and_every_figure_is_made(slurm_smoke):
    runs = sorted((slurm_smoke / "results" / "runs").glob("*/*/*/seed*/run.json"))
    assert len(runs) == 2
    job_ids = [json.loads(path.read_text())["provenance"]["slurm_job_id"] for path in runs]
    assert all(job_id is not None and job_id.isdigit() for job_id in job_ids), job_ids
    assert len(set(job_ids)) == len(job_ids)  # one job per run
    # SLURM itself saw these jobs finish (finished jobs stay in squeue for MinJobAge = 3600 s).
    seen = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T"],
                          capture_output=True, text=True, check=True).stdout
    states = dict(line.split("|") for line in seen.split())
    assert all(states.get(job_id) == "COMPLETED" for job_id in job_ids), states
    experts = [json.loads(path.read_text()) for path in
               (slurm_smoke / "results" / "experts").glob("*/expert.json")]
    assert any(expert["provenance"]["slurm_job_id"] for expert in experts)
    for name in ("learning_curves", "aggregates", "profiles", "improvement", "sweep",
                 "diagnostics"):
        assert (slurm_smoke / "figures" / TARGET / f"{name}.png").stat().st_size > 10_000


def test_a_failing_job_fails_the_workflow_instead_of_hanging(slurm_smoke):
    """Corrupt the 500-transition dataset and mark it remade (its marker holds another
    checksum): the one run built on it is run again, fails inside SLURM with the dataset error,
    and the workflow exits non-zero; the finished run itself is kept."""
    dataset = slurm_smoke / "results" / "datasets" / ENV / "n500.npz"
    dataset.write_bytes(b"not a dataset")
    dataset.with_suffix(".done").write_text("remade\n")
    result = snakemake(TARGET, "--configfile", str(slurm_smoke / "smoke.yaml"), cwd=slurm_smoke)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Error in rule train" in output and "dataset_size-500" in output, output[-3000:]
    variant = slurm_smoke / "logs" / "train" / ENV / "diiqn" / "dataset_size-500"
    assert "n500.npz" in (variant / "seed0.log").read_text()
    run = slurm_smoke / "results" / "runs" / ENV / "diiqn" / "dataset_size-500" / "seed0"
    assert (run / "summary.json").exists() and not (run / "workflow.done").exists()
