"""Bad input and faults: every bad input is one line naming the problem, exit status 2 and
nothing written; a second writer, a full disk, a corrupt or half-written checkpoint and stale
temporary files are survived without losing or mixing results. docs/faults.md lists each case
with what the user sees; each row is a case here."""

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from algos.cli import main
from algos.provenance.runs import RunDir, atomic_write_json, sealed
from conftest import (
    FAST,
    ROOT,
    SMALL_REPLAY,
    cli,
    metrics_without_wall_clock,
    random_expert_dataset,
    train_args,
)

pytestmark = pytest.mark.xdist_group("faults")


def _damage_run(run: Path, how: str) -> None:
    """Damage a copy of a finished run one way (see ``files``)."""
    metrics, config = run / "metrics.csv", run / "config.json"
    text = metrics.read_text()
    if how == "cut":
        metrics.write_text(text[:text.index("\n") + 30])
    elif how == "bad_config":
        config.write_text("{")
    elif how == "no_metrics":
        metrics.unlink()
    elif how == "empty_metrics":
        metrics.write_text("")
    elif how == "header_metrics":
        metrics.write_text(text.split("\n")[0] + "\n")
    elif how == "no_diagnostics":
        (run / "diagnostics.csv").unlink()
    elif how == "no_game":
        config.write_text(json.dumps({k: v for k, v in json.loads(config.read_text()).items()
                                      if k != "game"}))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A Breakout dataset and damaged copies of it, an expert folder, a finished run."""
    root = tmp_path_factory.mktemp("faults")
    data = random_expert_dataset(root / "n500.npz", size=500)
    maze = random_expert_dataset(root / "maze" / "n500.npz", game="space_invaders", size=300)
    damaged = {}
    # Edited, then sealed again (as a writer that wrote them so would): what is tested is the
    # loader's check of the contents, not the seal's.
    for name, edit in (("bad_sum", lambda info: info.update(sha256="0" * 64)),
                       ("no_arrays", lambda info: info.pop("arrays")),
                       ("not_object", lambda info: None),
                       ("no_shape", lambda info: info.pop("state_shape")),
                       ("no_expert", lambda info: info.pop("expert")),
                       ("wrong_size", lambda info: info.update(size=400))):
        folder = root / name
        folder.mkdir()
        for suffix in (".npz", ".actions.npy"):
            (folder / f"n500{suffix}").write_bytes(data.with_suffix(suffix).read_bytes())
        info = json.loads(data.with_suffix(".json").read_text())
        edit(info)
        text = "[1, 2]" if name == "not_object" else json.dumps(sealed(info))
        (folder / "n500.json").write_text(text)
        damaged[name] = folder / "n500.npz"
    expert = root / "expert"
    expert.mkdir()
    (expert / "expert.json").write_text((ROOT / "results" / "experts" / "breakout" /
                                         "expert.json").read_text())
    (expert / "policy.pt").write_bytes((ROOT / "results" / "experts" / "space_invaders" /
                                        "policy.pt").read_bytes())
    not_json = root / "not_json"
    not_json.mkdir()
    (not_json / "expert.json").write_text("{")
    experts = {}
    for name, edit in (("no_game", lambda info: info["env"].pop("game")),
                       ("bad_eval", lambda info: info.update(eval=5))):
        experts[f"expert_{name}"] = folder = root / f"expert_{name}"
        folder.mkdir()
        shutil.copy(ROOT / "results" / "experts" / "breakout" / "policy.pt", folder)
        info = json.loads((ROOT / "results" / "experts" / "breakout" / "expert.json").read_text())
        edit(info)
        (folder / "expert.json").write_text(json.dumps(info))
    run = root / "run"
    cli(*train_args(run, steps=400), check=True)
    runs = {}
    for name, edit in (("cut", None), ("bad_config", None), ("no_metrics", None),
                       ("empty_metrics", "metrics.csv"), ("header_metrics", "metrics.csv"),
                       ("no_diagnostics", None), ("no_game", "config.json")):
        runs[f"run_{name}"] = copy = root / f"run_{name}"
        shutil.copytree(run, copy)
        _damage_run(copy, name)
        if edit:  # sealed again, as a writer that wrote it so would
            summary = json.loads((copy / "summary.json").read_text())
            atomic_write_json(copy / "summary.json", {**summary, "files": RunDir(copy).checksums()})
    experts_dir = root / "experts" / "breakout"
    experts_dir.mkdir(parents=True)
    shutil.copy(ROOT / "results" / "experts" / "breakout" / "expert.json", experts_dir)
    agg = root / "agg"
    assert main(["aggregate", str(run), "--experts", str(experts_dir.parent), "--reps", "50",
                 "--out", str(agg)]) == 0
    tables = {}
    for name, scores, index in (("cut", None, True), ("old_cut", None, False),
                                ("header", "header", False), ("unrelated", "a,b\n1,2\n", False)):
        tables[f"agg_{name}"] = copy = root / f"agg_{name}" / "baseline"
        shutil.copytree(agg, copy)
        text = (copy / "scores.csv").read_text()
        (copy / "scores.csv").write_text(
            text[:-5] if scores is None else text.split("\n")[0] + "\n" if scores == "header"
            else scores)
        if not index:
            (copy / "tables.json").unlink()
    a_file = root / "a_file"
    a_file.write_text("x")
    return {"data": data, "space_invaders": maze, "expert": expert, "not_json": not_json,
            "run": run, "file": a_file, "root": root, "experts": experts_dir.parent,
            "agg": agg, "data_folder": maze.parent, "data_description": data.with_suffix(".json"),
            **damaged, **experts, **runs, **tables}


TRAIN = ["train", "dqn", "--game", "breakout", "--seed", "0", "--steps", "100"]
DIIQN = ["train", "diiqn", "--game", "breakout", "--seed", "0", "--steps", "100"]
# (arguments with {placeholders} for the files above, the message the one line must hold)
BAD_INPUTS = [
    (["train", "dqnn", "--game", "breakout", "--seed", "0", "--steps", "10"],
     "invalid choice: 'dqnn'"),
    ([*TRAIN, "--game", "pong"], "unknown game 'pong'"),
    ([*TRAIN, "--action-set", "jump"], "'jump' is not an action"),
    ([*TRAIN, "--action-set", "left,left"], "actions must be distinct"),
    ([*TRAIN, "--action-set", "diagonal"], "'diagonal' is not an action"),
    (["train", "dqn", "--game", "grid_maze", "--seed", "0", "--steps", "10",
      "--action-set", "fire"], "'fire' is not a maze action"),
    ([*TRAIN, "--sticky-prob", "2"], "--sticky-prob: expected a number in [0, 1], got '2'"),
    ([*TRAIN, "--seed", "-1"], "expected a seed: an integer >= 0, got '-1'"),
    ([*TRAIN, "--seed", "1.5"], "--seed: expected a seed: an integer >= 0, got '1.5'"),
    ([*TRAIN, "--seed", "1e-3"], "--seed: expected a seed: an integer >= 0, got '1e-3'"),
    ([*TRAIN, "--sticky-prob", "nan"], "--sticky-prob: expected a finite number, got 'nan'"),
    ([*TRAIN, "--set", "replay_capacity=1e12"], "a replay of 1,000,000,000,000 transitions "
     "needs"),
    ([*TRAIN, "--steps", "0"], "expected a positive integer, got '0'"),
    ([*TRAIN, "--steps", "inf"], "expected a positive integer, got 'inf'"),
    ([*TRAIN, "--steps", "2.7"], "expected a positive integer, got '2.7'"),
    ([*TRAIN, "--steps", "many"], "expected a positive integer, got 'many'"),
    ([*TRAIN, "--threads", "0"], "expected a positive integer"),
    ([*TRAIN, "--progress-every", "0"], "expected a positive number"),
    ([*TRAIN, "--set", "learning_rate=0.1"], "unknown config key 'learning_rate'; valid keys:"),
    ([*TRAIN, "--set", "batch_size=many"], "bad value 'many' for batch_size"),
    ([*TRAIN, "--set", "batch_size=3.5"], "expected an integer"),
    ([*TRAIN, "--set", "double=maybe"], "expected true or false"),
    ([*TRAIN, "--set", "lr"], "--set expects key=value"),
    ([*TRAIN, "--set", "gamma=1.5"], "gamma must lie in [0, 1]"),
    ([*TRAIN, "--set", "batch_size=0"], "batch_size must be at least 1"),
    ([*DIIQN, "--dataset", "{data}", "--set", "tau=2"], "tau must lie in [0, 1]"),
    ([*DIIQN, "--dataset", "{data}", "--set", "trust=sometimes"], "trust must be one of"),
    (DIIQN, "diiqn learns from an expert dataset: give --dataset PATH"),
    ([*DIIQN, "--dataset", "{root}/none.npz"], "no such dataset file"),
    ([*DIIQN, "--dataset", "{space_invaders}"], "a dataset of 'space_invaders', not of"),
    ([*DIIQN, "--dataset", "{bad_sum}"], "checksum mismatch"),
    ([*DIIQN, "--dataset", "{no_arrays}"], "not a dataset description"),
    ([*DIIQN, "--dataset", "{not_object}"], "not a dataset description"),
    ([*TRAIN, "--out", "{file}"], "cannot create this folder"),
    ([*TRAIN, "--out", "/proc/diiqn-run"], "cannot create this folder"),
    (["train", "dqn", "--game", "breakout", "--seed", "0", "--steps", "400", "--out", "{run}"],
     "holds a run with a different config (differs in: algo_config.checkpoint_every"),
    (["expert", "--game", "breakout", "--seed", "0"], "give --steps"),
    (["expert", "--game", "breakout", "--seed", "0", "--steps", "10", "--stop-fraction", "2"],
     "--stop-fraction: expected a number in [0, 1], got '2'"),
    (["expert", "--game", "breakout", "--seed", "0", "--steps", "10", "--reference-score",
      "nan"], "--reference-score: expected a finite number, got 'nan'"),
    (["expert", "--game", "seaquest", "--seed", "0", "--steps", "100"],
     "no reference score for seaquest"),
    (["expert", "--game", "breakout", "--seed", "0", "--scripted", "planner"],
     "the planner expert cannot play breakout"),
    (["expert", "--game", "breakout", "--seed", "0", "--steps", "10", "--eval-episodes", "0"],
     "expected a positive integer"),
    (["dataset", "--expert", "{root}", "--size", "10", "--seed", "0"], "no expert.json"),
    (["dataset", "--expert", "{not_json}", "--size", "10", "--seed", "0"], "not valid JSON"),
    (["dataset", "--expert", "{expert}", "--size", "10", "--seed", "0"],
     "policy.pt is a network for states (6, 10, 10)"),
    (["dataset", "--expert", "{expert}", "--size", "0", "--seed", "0"],
     "expected a positive integer"),
    (["dataset", "--expert", "{expert}", "--size", "10", "--seed", "0", "--epsilon", "2"],
     "--epsilon: expected a number in [0, 1], got '2'"),
    (["dataset", "--expert", str(ROOT / "results" / "experts" / "breakout"), "--size", "1e10",
      "--seed", "0"],
     "a dataset of 10,000,000,000 transitions needs"),
    (["dataset", "--expert", "{expert}", "--size", "10", "--seed", "0", "--out", "{root}/x.txt"],
     "--out must name a .npz file"),
    (["check-dataset", "{root}/none.npz"], "no such dataset file"),
    (["aggregate", "{root}"], "not a finished run"),
    (["aggregate", "{run}", "{run}"], "the same run twice"),
    (["aggregate"], "give either RUN folders or --manifest"),
    (["aggregate", "--manifest", "{file}"], "not an experiment manifest"),
    (["plot", "{root}"], "not an aggregate folder"),
    (["plot", "{root}", "--only", "pie"], "invalid choice: 'pie'"),
    (["claims", "{root}", "--out", "{root}"], "cannot write"),
    # issue 30
    ([*TRAIN, "--set", "huber_delta=0"], "huber_delta must be positive, got 0.0"),
    ([*TRAIN, "--set", "rms_eps=-5"], "rms_eps must be positive, got -5.0"),
    ([*TRAIN, "--set", "grad_clip=-1"], "grad_clip must be >= 0 (0: no clipping), got -1.0"),
    ([*TRAIN, "--set", "grad_clip=nan"], "bad value 'nan' for grad_clip (float): expected a "
     "finite number"),
    ([*TRAIN, "--set", "lr=nan"], "bad value 'nan' for lr (float): expected a finite number"),
    ([*TRAIN, "--dataset", "{data}"], "dqn learns without an expert dataset: drop --dataset"),
    (["check-dataset", "{no_shape}"], "not a dataset description (it needs game, size, arrays, "
     "sha256, state_shape, expert)"),
    (["check-dataset", "{no_expert}"], "not a dataset description (it needs"),
    (["check-dataset", "{wrong_size}"], "array states has 500 rows, but its description says "
     "the dataset has 400"),
    (["dataset", "--expert", "{expert_no_game}", "--size", "10", "--seed", "0"],
     "not an expert description (its env has no game)"),
    (["dataset", "--expert", "{expert_bad_eval}", "--size", "10", "--seed", "0"],
     "not an expert description (eval needs numbers return_mean, return_std and episodes)"),
    (["train", "dqn", "--game", "breakout", "--seed", "0", "--steps", "400", "--out",
      "{run_cut}", *FAST, *SMALL_REPLAY], "metrics.csv: not the file its run wrote"),
    (["train", "dqn", "--game", "breakout", "--seed", "0", "--steps", "400", "--out",
      "{run_bad_config}", *FAST, *SMALL_REPLAY], "config.json: not valid JSON"),
    (["aggregate", "{run_no_metrics}"], "metrics.csv: missing from the finished run"),
    (["aggregate", "{run_empty_metrics}"], "metrics.csv: empty"),
    (["aggregate", "{run_header_metrics}", "--experts", "{experts}"],
     "metrics.csv: no evaluations (a header only)"),
    (["aggregate", "{run_no_diagnostics}"], "diagnostics.csv: missing from the finished run"),
    (["aggregate", "{run_no_game}"], "config.json: not a run's config (it needs algo, game and "
     "seed)"),
    (["aggregate", "{run}", "--experts", "{experts}", "--out", "{file}"],
     "a_file: cannot create this folder (File exists)"),
    (["plot", "{agg}", "--out", "{file}"], "a_file: cannot create this folder"),
    (["plot", "{agg_cut}"], "scores.csv: not the table its aggregate wrote"),
    (["plot", "{agg_old_cut}"], "scores.csv: cut (its last line is unended)"),
    (["plot", "{agg_header}"], "scores.csv: no runs (a header only)"),
    (["plot", "{agg_unrelated}"], "scores.csv: not the table expected (no column method"),
    (["claims", "{agg_unrelated}/..", "--out", "{root}/claims.csv"],
     "scores.csv: not the table expected (no column method"),
    (["claims", "{root}/agregate", "--out", "{root}/claims.csv"], "agregate: no such folder"),
    (["claims", "{run}", "--out", "{root}/claims.csv"], "no experiment's aggregate in it"),
    ([*DIIQN, "--dataset", "{data_folder}"], "a folder; give a dataset's arrays file in it "
     "(n500.npz)"),
    ([*DIIQN, "--dataset", "{data_description}"], "a dataset's description; give its arrays "
     "file"),
    (["claims", "{root}", "--out", "{root}/claims.csv", "--claims", "{file}"],
     "is not of type 'object'"),
    (["power", "baseline_typo"], "no claim of the claims file reads 'baseline_typo'"),
    (["power", "baseline", "--root", "{root}"], "no aggregate of baseline"),
    (["power", "baseline", "--target", "1.5"], "--target: expected a number in [0, 1], got "
     "'1.5'"),
    (["aggregate", "{run}", "--threshold", "nan"], "--threshold: expected a finite number"),
    (["aggregate", "{run}", "--seed", "-5"], "--seed: expected a seed: an integer >= 0"),
    (["train", "dqn", "--game", "breakout", "--seed", "0", "--steps", "10", "--out", ""],
     "--out: expected a path, got an empty string"),
    (["plot", "{agg}", "--only", "sweep"], "--only sweep: not a figure of this aggregate (of "
     "dqn, no sweep); its figures: learning_curves"),
    (["plot", "{agg}", "--only", "diagnostics"], "--only diagnostics: not a figure of this "
     "aggregate"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS,
                         ids=[f"{i:02d}" for i in range(len(BAD_INPUTS))])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(files, tmp_path, capsys, args,
                                                        message):
    out = tmp_path / "out"
    args = [a.format(**files) for a in args]
    needs_out = args[0] in ("train", "expert", "dataset", "aggregate", "plot") and "--out" \
        not in args
    if needs_out:
        args += ["--out", str(out / "x.npz" if args[0] == "dataset" else out)]
    before = sorted(p for p in files["root"].rglob("*"))
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines
    print("FAULT-ROW", json.dumps([" ".join(args), lines[0].replace(str(files["root"]), "DIR")
                                   .replace(str(tmp_path), "TMP")]))
    assert not out.exists()
    assert sorted(p for p in files["root"].rglob("*")) == before  # nothing written anywhere


def test_bad_inputs_are_many():
    assert len(BAD_INPUTS) >= 90


def _train(out, *extra, steps=3000, env=None, preexec=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "algos", *train_args(out, steps, seed=2),
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=preexec)


def test_a_second_trainer_on_the_same_folder_stops_at_once_naming_the_first(tmp_path):
    out = tmp_path / "run"
    first = _train(out, steps=4000)
    deadline = time.monotonic() + 120
    while not (out / "metrics.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = cli(*train_args(out, 4000, seed=2))
    assert second.returncode == 2
    assert f"being written by another trainer (PID {first.pid})" in second.stderr
    assert first.wait(timeout=600) == 0
    assert len(json.loads((out / "run.json").read_text())["sessions"]) == 1
    assert cli(*train_args(out, 4000, seed=2)).returncode == 0  # released at exit


def test_a_full_disk_at_a_checkpoint_is_one_line_and_the_run_resumes(tmp_path):
    """Files over 64 KB fail to write (RLIMIT_FSIZE: EFBIG, as ENOSPC would): the checkpoint at
    step 1000 fails, the trainer says so in one line and exits 1; run again with room, it
    restarts (there was no checkpoint yet) and ends as an uninterrupted run does."""
    out, whole = tmp_path / "run", tmp_path / "whole"

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))

    full = _train(out, preexec=small_files)
    _, err = full.communicate(timeout=600)
    assert full.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "cannot write the checkpoint of step 1000" in lines[0]
    assert "the run has no checkpoint yet" in lines[0]
    assert not list(out.rglob("*.tmp")) and not (out / "summary.json").exists()
    assert cli(*train_args(out, 3000, seed=2)).returncode == 0
    assert cli(*train_args(whole, 3000, seed=2)).returncode == 0
    assert metrics_without_wall_clock(out) == metrics_without_wall_clock(whole)


def test_a_full_disk_at_the_start_leaves_no_empty_lock(tmp_path):
    """No byte can be written (RLIMIT_FSIZE 0): the trainer cannot write its PID into the lock
    it just made; it says so naming the file, removes the lock, and the folder trains
    normally once there is room."""
    out = tmp_path / "run"

    def no_room():
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    full = _train(out, steps=1000, preexec=no_room)
    _, err = full.communicate(timeout=600)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert full.returncode == 1 and lines == [f"error: train: File too large: {out}/.lock"], err
    assert not out.exists() or not list(out.iterdir())
    assert cli(*train_args(out, 1000, seed=2)).returncode == 0


def test_a_corrupt_checkpoint_falls_back_to_the_one_before(tmp_path):
    """Stopped after step 2000 (checkpoints at 1000 and 2000), the last checkpoint damaged: the
    run resumes from the one before, with a warning, and ends as an uninterrupted run does; a
    stale temporary file of a killed write is removed."""
    out, whole = tmp_path / "run", tmp_path / "whole"
    cli(*train_args(out, 2000, seed=2), check=True)
    config = json.loads((out / "config.json").read_text())
    (out / "summary.json").unlink()
    checkpoint = out / "checkpoint" / "state.pt"
    assert (out / "checkpoint" / "state.prev.pt").exists()
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    stale = out / ".metrics.csv.abc123.tmp"
    stale.write_text("half")
    # The run's config asks for 2000 steps; resuming it under the same config goes on from the
    # step-1000 checkpoint to 2000.
    result = cli(*train_args(out, 2000, seed=2))
    assert result.returncode == 0, result.stderr
    assert "trying the one before it" in result.stderr and not stale.exists()
    assert json.loads((out / "config.json").read_text()) == config
    cli(*train_args(whole, 2000, seed=2), check=True)
    assert metrics_without_wall_clock(out) == metrics_without_wall_clock(whole)
    assert json.loads((out / "run.json").read_text())["sessions"][-1]["from_step"] == 1000


def test_without_a_terminal_progress_is_a_line_now_and_then(tmp_path):
    result = cli(*train_args(tmp_path / "run", 2000), "--progress-every", "0.2")
    lines = [line for line in result.stderr.splitlines() if "steps/s" in line]
    assert lines and "step 2000/2000 (100%)" in lines[-1] and "last evaluation" in lines[-1]


def test_a_run_shorter_than_replay_start_is_warned_about(tmp_path):
    result = cli(*train_args(tmp_path / "run", 200))
    assert result.returncode == 0
    assert "ends before replay_start (300): the agent never learns" in result.stderr


def test_divergence_says_which_checkpoint_the_run_keeps(tmp_path):
    result = cli(*train_args(tmp_path / "run", 3000, extra=("--set", "lr=1e30")))
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: training diverged") and (
        "the run has no checkpoint yet" in line or "keeps its checkpoint of step" in line), line


def test_dataset_arrays_with_nan_or_the_wrong_type_are_refused(files, tmp_path):
    """Beyond the description: an array of another dtype is refused by name."""
    folder = tmp_path / "d"
    folder.mkdir()
    with np.load(files["data"]) as data:
        arrays = dict(data)
    arrays["dones"] = arrays["dones"].astype(np.float32)
    np.savez(folder / "n500.npz", **arrays)
    (folder / "n500.json").write_text(files["data"].with_suffix(".json").read_text())
    result = cli("check-dataset", str(folder / "n500.npz"))
    assert result.returncode == 2 and "array dones has dtype float32, expected bool" in \
        result.stderr


def test_the_lock_is_released_by_a_kill(tmp_path):
    out = tmp_path / "run"
    first = _train(out, steps=100_000)
    deadline = time.monotonic() + 120
    while not (out / "metrics.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, 9)
    first.wait()
    result = cli(*train_args(out, 100_000, seed=2, extra=("--set", "lr=0.01")))
    assert result.returncode == 2 and "holds a run with a different config" in result.stderr


def test_a_dataset_named_by_another_path_resumes_the_same_run(tmp_path, breakout_dataset):
    """A DIIQN run trained with its dataset named by a relative path, stopped after its
    step-1000 checkpoint, resumes with the same dataset named by an absolute path (and, done,
    says there is nothing to do): the path is how it was typed, the content is the dataset."""
    out = tmp_path / "run"
    relative = Path(os.path.relpath(breakout_dataset, ROOT))
    cli(*train_args(out, 1000, algo="diiqn", dataset=relative), check=True)
    config = json.loads((out / "config.json").read_text())
    (out / "summary.json").unlink()  # as if stopped right after its last checkpoint
    resumed = cli(*train_args(out, 1000, algo="diiqn", dataset=breakout_dataset.resolve()))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "config.json").read_text()) == config
    assert json.loads((out / "config.json").read_text())["dataset"]["path"] == str(relative)
    again = cli(*train_args(out, 1000, algo="diiqn", dataset=breakout_dataset.resolve()))
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
