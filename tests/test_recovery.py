"""The workflow after a crash of Snakemake itself: SIGKILL it while a training job runs, and the
documented recovery (``snakemake --unlock``, then the same command with ``--rerun-incomplete``)
finishes the work without retraining anything finished, losing the expert, or letting two
trainers write one run folder (the orphaned job keeps its folder's lock until it ends)."""

import json
import os
import signal
import subprocess
import time

import pytest
import yaml

from conftest import NO_SLURM_ENV, ROOT, SNAKEMAKE, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("recovery")]

CONFIG = {
    "seeds": [0], "steps": 12000, "last_evaluations": 2, "bootstrap_reps": 50,
    "train_set": {"replay_start": 500, "eval_every": 4000, "eval_episodes": 2,
                  "checkpoint_every": 2000, "epsilon_decay_steps": 2000},
    "experts": {"steps": 1000, "scripted": {"grid_maze_small": {"name": "planner",
                                                                "action_set": "cardinal"}}},
    "dataset": {"size": 1000},
    "experiments": {"recovery": {"envs": ["grid_maze_small"], "methods": ["dqn"],
                                 "agent_action_set": "cardinal"}},
}


def test_sigkill_of_snakemake_then_the_documented_recovery(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    command = ["recovery", "--cores", "1", "--keep-going", "--configfile", str(config)]
    run = tmp_path / "results" / "runs" / "grid_maze_small" / "dqn" / "recovery" / "seed0"
    workflow = subprocess.Popen([*SNAKEMAKE, *command, "--directory", str(tmp_path)], cwd=ROOT,
                                env=NO_SLURM_ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (run / "checkpoint" / "state.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(workflow.pid, signal.SIGKILL)  # the training job lives on, orphaned
    workflow.wait()
    expert = tmp_path / "results" / "experts" / "grid_maze_small" / "expert.json"
    made = expert.stat().st_mtime_ns

    assert snakemake("--unlock", "--configfile", str(config), cwd=tmp_path).returncode == 0
    again = snakemake(*command, "--rerun-incomplete", cwd=tmp_path)
    log = tmp_path / "logs" / "train" / "grid_maze_small" / "dqn" / "recovery" / "seed0.log"
    if again.returncode != 0:  # the orphan still held its folder when the job for it started
        assert "being written by another trainer" in log.read_text()
        while not (run / "summary.json").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        again = snakemake(*command, "--rerun-incomplete", cwd=tmp_path)
    assert again.returncode == 0, (log.read_text(), again.stderr[-3000:])
    assert (tmp_path / "figures" / "recovery" / "learning_curves.png").exists()
    assert expert.stat().st_mtime_ns == made  # the expert was not made again
    sessions = json.loads((run / "run.json").read_text())["sessions"]
    assert sessions[0]["from_step"] == 0 and all(s["from_step"] > 0 for s in sessions[1:])
    with open(run / "metrics.csv") as f:
        assert f.read().count("\n") == 1 + 12000 // 4000 + 1  # evaluations at 0, 4K, 8K, 12K
