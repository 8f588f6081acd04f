"""``python -m algos status``: each run folder's state, on copies of committed runs (the
repository's results/ is only read) and a tiny run stopped early."""

import os
import shutil
from pathlib import Path

import pytest

from algos.cli import main
from algos.provenance.runs import RunDir
from algos.provenance.status import STATES, status
from algos.training import loop
from algos.training.checkpoint import resume_step
from conftest import ROOT, cli, train_args

COMMITTED = ROOT / "results" / "runs" / "breakout" / "dqn" / "default"
STALE = ROOT / "results" / "stale" / "space_invaders" / "oril" / "default" / "seed0-shared1-oril1"


def _stopped_at_400(out: Path, monkeypatch) -> None:
    """A tiny run (evaluations and checkpoints every 200 steps) interrupted after its
    evaluation of step 400, before that step's checkpoint: it resumes from step 200."""
    save = loop._Trainer.save

    def interrupted_at_400(trainer):
        if trainer.step == 400:
            raise KeyboardInterrupt
        save(trainer)

    monkeypatch.setattr(loop._Trainer, "save", interrupted_at_400)
    extra = ("--set", "eval_every=200", "--set", "checkpoint_every=200")
    assert main(train_args(out, steps=1000, extra=extra)) == 130  # "interrupted"


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    """Copies of three finished committed runs (one made broken, one made unfinished), a
    stale committed run, and a tiny run stopped early with a copy whose checkpoint is cut."""
    root = tmp_path / "runs"
    for seed in (0, 1, 2):
        shutil.copytree(COMMITTED / f"seed{seed}", root / "breakout/dqn/default" / f"seed{seed}")
    with open(root / "breakout/dqn/default/seed1/metrics.csv", "r+b") as f:
        f.seek(-2, os.SEEK_END)  # the last digit of the last row's steps_per_second
        byte = f.read(1)
        f.seek(-2, os.SEEK_END)
        f.write(b"7" if byte != b"7" else b"8")  # one digit changed: the seal no longer holds
    (root / "breakout/dqn/default/seed2/summary.json").unlink()  # as if killed before the end
    shutil.copytree(STALE, root / "space_invaders/oril/default/seed0")
    tiny = root / "breakout/dqn/tiny/seed0"
    _stopped_at_400(tiny, monkeypatch)
    shutil.copytree(tiny, root / "breakout/dqn/tiny/seed1")
    with open(root / "breakout/dqn/tiny/seed1/checkpoint/state.pt", "r+b") as f:
        f.truncate(f.seek(0, os.SEEK_END) // 2)
    return root


def _files(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_each_run_folders_state_and_step(runs):
    before = _files(runs)
    found = {str(row.path.relative_to(runs)): row for row in status(runs, resume_step)}
    assert _files(runs) == before  # read only: not even a .lock is made

    states = {path: (row.state, row.step) for path, row in found.items()}
    assert states == {
        "breakout/dqn/default/seed0": ("finished", 30000),
        "breakout/dqn/default/seed1": ("broken", 30000),
        "breakout/dqn/default/seed2": ("started", 30000),
        "breakout/dqn/tiny/seed0": ("resumable", 400),
        "breakout/dqn/tiny/seed1": ("broken", 400),
        "space_invaders/oril/default/seed0": ("stale", 30000),
    }
    assert found["breakout/dqn/default/seed0"].last_return == 1.3  # its last row's mean
    assert found["breakout/dqn/default/seed1"].detail.startswith(
        "metrics.csv: not the file its run wrote")
    assert found["breakout/dqn/tiny/seed0"].detail == "resumes from its checkpoint of step 200"
    assert "no usable checkpoint" in found["breakout/dqn/tiny/seed1"].detail
    assert found["space_invaders/oril/default/seed0"].detail == \
        "code revision shared1-oril1, this code is shared2-oril1"

    # While a trainer holds a run's lock, the run is running, whatever its files say.
    with RunDir(runs / "breakout/dqn/tiny/seed0").locked():
        [row] = status(runs / "breakout/dqn/tiny/seed0")
    assert (row.state, row.step, row.detail) == ("running", 400, f"PID {os.getpid()} holds "
                                                                 "its lock")
    # Without a checkpoint reader (no torch), a checkpoint is only seen to be there.
    [row] = status(runs / "breakout/dqn/tiny/seed1")
    assert (row.state, row.step, row.detail) == ("resumable", 400, "")


def test_the_status_command_prints_a_line_a_run_and_its_help_every_state(runs):
    with RunDir(runs / "breakout/dqn/default/seed0").locked():  # held from this process
        result = cli("status", str(runs), check=True)
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    assert lines[0].startswith(f"{runs}/breakout/dqn/default/seed0 ")
    assert lines[0].split()[1:6] == ["step", "30000", "return", "1.30", "running"]
    assert lines[-1] == "6 runs: 1 running, 1 resumable, 1 started, 1 stale, 2 broken"

    help_text = " ".join(cli("status", "--help", check=True).stdout.split())
    for state in STATES:
        assert f"{state}: " in help_text
    missing = cli("status", str(runs / "none"))
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [f"error: {runs / 'none'}: no such folder"]
