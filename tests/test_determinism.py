"""Reproducibility: one seed gives one metrics.csv; a run killed at any moment resumes exactly."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, cli, metrics_without_wall_clock, train_args

STEPS = 5000


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(tmp_path):
    runs = [tmp_path / name for name in ("a", "b", "c")]
    procs = [subprocess.Popen([sys.executable, "-m", "algos", *train_args(run, STEPS, seed=seed)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for run, seed in zip(runs, (0, 0, 1), strict=True)]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    a, b, c = (metrics_without_wall_clock(run) for run in runs)
    assert len(a) == 6
    assert a == b
    assert a != c
    # The diagnostics (mean |TD| per evaluation interval) are reproducible too.
    assert (runs[0] / "diagnostics.csv").read_text() == (runs[1] / "diagnostics.csv").read_text()


def _kill_after_a_checkpoint(out, rng: random.Random, first_step: int, **kwargs) -> None:
    """Start training, wait until it has written a checkpoint past ``first_step``, wait a random
    moment more, SIGKILL it. Raises if the run finished before it could be killed."""
    proc = subprocess.Popen([sys.executable, "-m", "algos",
                             *train_args(out, STEPS, seed=3, **kwargs)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = out / "checkpoint" / "state.pt"
    start = time.monotonic()
    while time.monotonic() - start < 300:
        if checkpoint.exists() and checkpoint.stat().st_mtime > start and \
                len(metrics_without_wall_clock(out)) > first_step // 1000:
            break
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.0))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists(), "the run finished before it was killed"


@pytest.mark.parametrize("algo", ["dqn", "diiqn", "ha_diiqn", "bco"])
def test_sigkill_and_resume_gives_the_same_metrics_as_an_uninterrupted_run(
        tmp_path, algo, breakout_dataset):
    """DIIQN and BCO add state of their own to the checkpoint (DIIQN: inferred actions and their
    errors, each replay slot's expert match, its sampling RNG; BCO: two networks, two
    optimizers, its RNG): they must resume exactly too."""
    kwargs = {"algo": algo, "dataset": breakout_dataset if algo != "dqn" else None}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    uninterrupted = subprocess.Popen([sys.executable, "-m", "algos",
                                      *train_args(whole, STEPS, seed=3, **kwargs)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rng = random.Random(os.getpid())
    _kill_after_a_checkpoint(killed, rng, first_step=1000, **kwargs)
    # Killed twice: resumed runs resume.
    _kill_after_a_checkpoint(killed, rng, first_step=3000, **kwargs)
    result = cli(*train_args(killed, STEPS, seed=3, **kwargs), check=True)
    assert "done" in result.stdout
    assert uninterrupted.wait(timeout=600) == 0
    assert metrics_without_wall_clock(killed) == metrics_without_wall_clock(whole)
    if algo != "dqn":  # diagnostics too, except how the index answered (its cache restarts)
        speed = ("index_cache_share", "index_search_share", "bridge_search_ms")
        assert _csv_without(killed / "diagnostics.csv", speed) == \
            _csv_without(whole / "diagnostics.csv", speed)
    sessions = __import__("json").loads((killed / "run.json").read_text())["sessions"]
    assert len(sessions) == 3 and sessions[1]["from_step"] > 0


def _csv_without(path, columns) -> list[dict]:
    import csv

    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in columns} for row in csv.DictReader(f)]
