"""The live view (``train --tensorboard``): TensorBoard event files that mirror metrics.csv and
diagnostics.csv, read back with TensorBoard's own reader, and a run that is the same without it."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np

# TensorBoard is optional for a user and installed by the dev extra, so CI tests the view.
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from algos.cli import main
from algos.training import loop
from conftest import (
    ROOT,
    cli,
    diagnostics_without_wall_clock,
    metrics_without_wall_clock,
    train_args,
)

# Evaluations at 0, 200, 400 and 600; learning from 300, so the last two have losses.
EVERY_200 = ("--set", "eval_every=200", "--set", "checkpoint_every=200")


def _view(folder: Path) -> dict[str, list[tuple[int, np.float32]]]:
    """Every scalar of the event files in ``folder``, as TensorBoard reads them."""
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, np.float32(e.value)) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def _csv_as_view(path: Path, prefix: str) -> dict[str, list[tuple[int, np.float32]]]:
    """What the view of a CSV file must hold: each non-empty cell at its row's step."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    expected: dict[str, list] = {}
    for row in rows:
        for column, cell in row.items():
            if column != "env_steps" and cell:
                expected.setdefault(f"{prefix}/{column}", []).append(
                    (int(row["env_steps"]), np.float32(float(cell))))
    return expected


def _assert_view_is_the_csv(run: Path, view: Path) -> None:
    found = _view(view)
    expected = {**_csv_as_view(run / "metrics.csv", "metrics"),
                **_csv_as_view(run / "diagnostics.csv", "diagnostics")}
    assert "metrics/eval_return_mean" in expected and "metrics/loss_mean" in expected
    assert found == expected


def test_the_view_mirrors_the_csv_files_and_changes_no_result(tmp_path):
    with_view, without = tmp_path / "with" / "seed0", tmp_path / "without" / "seed0"
    cli(*train_args(with_view, steps=600, extra=(*EVERY_200, "--tensorboard")), check=True)
    cli(*train_args(without, steps=600, extra=EVERY_200), check=True)

    assert [int(r["env_steps"]) for r in metrics_without_wall_clock(with_view)] == \
        [0, 200, 400, 600]
    _assert_view_is_the_csv(with_view, with_view / "tensorboard")
    # The same run: config.json byte for byte, every row but the wall-clock columns.
    assert (with_view / "config.json").read_bytes() == (without / "config.json").read_bytes()
    assert metrics_without_wall_clock(with_view) == metrics_without_wall_clock(without)
    assert diagnostics_without_wall_clock(with_view) == diagnostics_without_wall_clock(without)
    assert not (without / "tensorboard").exists()
    # A run folder's view is never committed.
    ignored = subprocess.run(["git", "check-ignore", "-q",
                              "results/runs/breakout/dqn/default/seed0/tensorboard/events"],
                             cwd=ROOT)
    assert ignored.returncode == 0


def test_a_resumed_runs_view_holds_each_row_once(tmp_path, monkeypatch):
    """Killed after its evaluation of step 400 but before that step's checkpoint, the run
    resumes from step 200; its view, in a folder the user names, then holds the rows of the
    finished metrics.csv once each (the first session's rows of 400 hidden by the purge)."""
    run, view = tmp_path / "run", tmp_path / "view"
    save = loop._Trainer.save

    def killed_at_400(trainer):
        if trainer.step == 400:
            raise KeyboardInterrupt
        save(trainer)

    monkeypatch.setattr(loop._Trainer, "save", killed_at_400)
    args = train_args(run, steps=600, extra=(*EVERY_200, "--tensorboard", str(view)))
    assert main(args) == 130
    assert [int(r["env_steps"]) for r in metrics_without_wall_clock(run)] == [0, 200, 400]
    monkeypatch.setattr(loop._Trainer, "save", save)
    assert main(args) == 0

    assert len(list(view.glob("events.out.tfevents.*"))) == 2  # one file a session
    _assert_view_is_the_csv(run, view)
    assert not (run / "tensorboard").exists()


def test_the_view_without_tensorboard_installed_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "run"
    code = ("import sys\nsys.modules['tensorboard'] = None  # as if it were not installed\n"
            "from algos.cli import main\n"
            f"sys.exit(main({train_args(out, steps=600, extra=('--tensorboard',))!r}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --tensorboard needs the "
                                                   "tensorboard package"), lines
    assert 'pip install -e ".[tensorboard]"' in lines[0]
    assert not out.exists()
