"""The ``python -m algos`` command line: help, the run folder, resume, and bad input."""

import dataclasses
import errno
import json
import subprocess
import sys

import pytest

from algos.algorithms import ALGORITHMS
from conftest import ROOT, cli, metrics_without_wall_clock, train_args


def test_help_explains_every_option_and_config_key():
    top = cli("--help", check=True).stdout
    for command in ("train", "expert", "dataset", "check-dataset"):
        assert command in top
    expert = cli("expert", "--help", check=True).stdout
    for option in ("--stop-fraction", "--reference-score", "--eval-episodes", "--steps"):
        assert option in expert
    dataset = cli("dataset", "--help", check=True).stdout
    for option in ("--expert", "--size", "--seed", "--out", "--epsilon"):
        assert option in dataset
    text = cli("train", "--help", check=True).stdout
    for option in ("--game", "--seed", "--steps", "--out", "--set", "--threads", "--action-set",
                   "--sticky-prob", "--no-ramping"):
        assert option in text
    import dataclasses

    for algorithm in ALGORITHMS.values():
        for field in dataclasses.fields(algorithm.config):
            assert field.name in text
    # With ALGO first, only its keys: DQN's help has none of DIIQN's own.
    dqn = cli("train", "dqn", "--help", check=True).stdout
    diiqn = cli("train", "diiqn", "--help", check=True).stdout
    assert "--set" in dqn and "config keys of dqn" in dqn and "config keys of diiqn" not in dqn
    for name, help_text in (("dqn", dqn), ("diiqn", diiqn)):
        for field in dataclasses.fields(ALGORITHMS[name].config):
            assert f"  {field.name} (" in help_text
    assert "  tau (" in diiqn and "  tau (" not in dqn


def test_train_writes_the_run_folder_and_a_rerun_exits_at_once(tmp_run):
    result = cli(*train_args(tmp_run, steps=1500), check=True)
    assert "done" in result.stdout
    for name in ("config.json", "metrics.csv", "diagnostics.csv", "run.json", "summary.json",
                 "checkpoint/state.pt"):
        assert (tmp_run / name).is_file(), name
    assert not list(tmp_run.rglob("*.tmp"))  # no temporary file left behind
    rows = metrics_without_wall_clock(tmp_run)
    assert [int(r["env_steps"]) for r in rows] == [0, 1000, 1500]
    info = json.loads((tmp_run / "run.json").read_text())
    assert info["env"]["minatar_version"] and info["env"]["sticky_action_prob"] == 0.1
    assert info["env"]["difficulty_ramping"] is True and info["env"]["action_set"] == "full"
    assert info["provenance"]["torch"].startswith("2.13")
    assert info["peak_rss_mb"] > 0 and info["steps_per_second"] > 0
    config = json.loads((tmp_run / "config.json").read_text())
    assert config["algo_config"]["replay_start"] == 300 and config["algo_config"]["double"]
    summary = json.loads((tmp_run / "summary.json").read_text())
    assert summary["steps"] == 1500 and summary["episodes"] > 0

    again = cli(*train_args(tmp_run, steps=1500), check=True)
    assert "already finished" in again.stdout


def test_a_different_config_in_an_existing_folder_is_refused(tmp_run):
    cli(*train_args(tmp_run, steps=600), check=True)
    result = cli(*train_args(tmp_run, steps=600, extra=("--set", "lr=0.001")))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "lr" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--game", "pong"], "unknown game 'pong'"),
        (["--set", "learning_rate=0.1"], "unknown config key 'learning_rate'; valid keys:"),
        (["--set", "batch_size=many"], "bad value 'many' for batch_size"),
        (["--action-set", "jump"], "'jump' is not an action"),
        (["--sticky-prob", "2"], "--sticky-prob: expected a number in [0, 1], got '2'"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    base = ["train", "dqn", "--game", "breakout", "--seed", "0", "--steps", "100",
            "--out", str(out)]
    # Later options override earlier ones, so the bad value replaces the good default.
    result = cli(*base, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines
    assert not out.exists()


def test_expert_without_a_reference_score_is_refused(tmp_path):
    result = cli("expert", "--game", "seaquest", "--seed", "0", "--steps", "100",
                 "--out", str(tmp_path / "e"))
    assert result.returncode == 2 and "no reference score for seaquest" in result.stderr
    assert not (tmp_path / "e").exists()


def test_unknown_algorithm_is_rejected(tmp_path):
    result = cli("train", "dqnn", "--game", "breakout", "--seed", "0", "--steps", "10",
                 "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "invalid choice: 'dqnn'" in result.stderr
    assert not (tmp_path / "x").exists()


def test_the_figure_and_aggregate_commands_import_neither_torch_nor_rliable():
    """The workflow runs an aggregate and a figure job per experiment: their commands build
    only their own parser and read the tables without the training stack or the bootstrap
    library."""
    code = ("import sys\nfrom algos.cli import build_parser\n"
            "from algos.evidence import aggregate, plots\n"
            "build_parser('plot').parse_args(['plot', 'DIR', '--out', 'OUT'])\n"
            "build_parser('aggregate')\n"
            "print(sorted(m for m in ('torch', 'rliable') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_checking_a_config_and_the_train_help_import_no_torch():
    """Every Snakemake start (and every SLURM job) checks the whole config through the
    algorithms' config classes; the agents, and torch with them, are imported only to train."""
    code = ("import contextlib, io, sys, yaml\nfrom algos.cli import main\n"
            "from algos.evidence.experiments import plan\n"
            "runs = plan(yaml.safe_load(open('.test/config/config.yaml')))\n"
            "with contextlib.redirect_stdout(io.StringIO()) as help, "
            "contextlib.suppress(SystemExit):\n    main(['train', '--help'])\n"
            "print(len(runs) > 0, 'tau (float' in help.getvalue(), 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["True", "True", "False"], result.stdout


@pytest.mark.parametrize("failure, line, code", [
    (OSError(errno.ENOSPC, "No space left on device", "results/aggregate/x/scores.csv"),
     "error: tables: No space left on device: results/aggregate/x/scores.csv", 1),
    (OSError(errno.EROFS, "Read-only file system", "docs/results.md"),
     "error: tables: Read-only file system: docs/results.md", 1),
    (OSError(errno.EFBIG, "File too large"), "error: tables: File too large", 1),
    (MemoryError(), "error: tables: out of memory (this machine cannot hold what it asked for; "
     "smaller sizes or a larger machine)", 1),
    (KeyboardInterrupt(), "interrupted; re-run the same command", 130),
])
def test_an_io_failure_in_any_command_is_one_line(failure, line, code, monkeypatch, capsys,
                                                   tmp_path):
    """Whatever command meets it: the operating system's reason and the file, no traceback
    (a full disk, a read-only folder, a file-size limit, memory)."""
    from algos import cli

    def fail(args):
        raise failure

    monkeypatch.setitem(cli.COMMANDS, "tables", dataclasses.replace(cli.COMMANDS["tables"],
                                                                    run=fail))
    assert cli.main(["tables", str(tmp_path)]) == code
    assert capsys.readouterr().err.strip() == line
