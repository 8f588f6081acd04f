"""A config changed under finished work: Snakemake reruns the jobs whose settings changed, and
deletes their outputs first. Those outputs are markers, so the expert, the dataset and the
finished run stay as they were; each command stops with what differs, and the workflow fails
naming the job instead of silently replacing (or losing) what was made."""

import copy
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import snakemake

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nothing_lost")]

CONFIG = {
    "seeds": [0], "steps": 600, "last_evaluations": 1, "bootstrap_reps": 50,
    "train_set": {"replay_start": 200, "eval_every": 600, "eval_episodes": 2,
                  "checkpoint_every": 600, "epsilon_decay_steps": 500},
    "experts": {"steps": 600, "stop_fraction": 0.0, "eval_episodes": 2,
                "set": {"replay_start": 200, "eval_every": 600, "eval_episodes": 2}},
    "dataset": {"size": 500, "epsilon": 0.01},
    "experiments": {"kept": {"envs": ["breakout"], "methods": ["diiqn"]}},
}


# The run's own marker as the target: its expert, dataset and training jobs, none of the
# aggregate and figure jobs after it (which hold nothing that could be lost).
RUN = Path("results/runs/breakout/diiqn/default/seed0")
TARGET = str(RUN / "workflow.done")


def workflow(work: Path, config: dict) -> subprocess.CompletedProcess:
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return snakemake(TARGET, "--cores", "1", "--configfile", str(path), cwd=work)


def fingerprint(paths: list[Path]) -> list[tuple[int, bytes]]:
    return [(p.stat().st_mtime_ns, p.read_bytes()) for p in paths]


CHANGES = [  # (section, key, value), the job's log, what it says
    (("experts", "steps", 700), "experts/breakout.log", "differs in: steps 600 -> 700"),
    (("dataset", "epsilon", 0.05), "datasets/breakout/n500.log",
     "differs in: epsilon 0.01 -> 0.05"),
    (("train_set", "eval_episodes", 3), "train/breakout/diiqn/default/seed0.log",
     "differs in: algo_config.eval_episodes 2 -> 3"),
]


def test_a_changed_setting_never_deletes_what_was_made(tmp_path):
    first = workflow(tmp_path, CONFIG)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results"
    made = [results / "experts" / "breakout" / "expert.json",
            results / "experts" / "breakout" / "policy.pt",
            results / "datasets" / "breakout" / "n500.npz",
            results / "datasets" / "breakout" / "n500.json",
            tmp_path / RUN / "summary.json", tmp_path / RUN / "metrics.csv"]
    before = fingerprint(made)
    # One change at a time, the others back as they were: each run first remakes the marker
    # the previous change's failed job lost (its command finds the files as asked: nothing to
    # do), then fails on its own change.
    for (section, key, value), log, message in CHANGES:
        changed = copy.deepcopy(CONFIG)
        changed[section][key] = value
        second = workflow(tmp_path, changed)
        assert second.returncode != 0, key
        assert message in (tmp_path / "logs" / log).read_text()
        assert fingerprint(made) == before, key  # nothing deleted, nothing rewritten
    again = workflow(tmp_path, CONFIG)  # back to the settings the files were made with
    assert again.returncode == 0, again.stderr[-3000:]
    assert fingerprint(made) == before
