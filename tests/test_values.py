"""Every argument and setting typed once (algos/values.py): exact integers, finite floats,
non-empty paths and sizes this machine can hold, refused in one line by the command line, by
``--set`` and at the workflow's start alike (issue 48, docs/faults.md)."""

import math
from pathlib import Path

import pytest
import yaml

from algos.algorithms import ALGORITHMS
from algos.cli import build_parser, main
from algos.config import ConfigError, apply_overrides
from algos.evidence.experiments import PlanError, check_schema
from algos.values import (
    SizeError,
    exact_int,
    finite_float,
    non_finite,
    nonempty_path,
    physical_memory,
    require_memory,
    retype_override,
)
from conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TEST_CONFIG = ROOT / ".test" / "config" / "config.yaml"


@pytest.mark.parametrize("text, number", [("12345678901234567", 12345678901234567),
                                          ("99999999999999999999999", 10**23 - 1),
                                          ("1e5", 100000), ("100_000", 100000), (" 7 ", 7),
                                          ("-3", -3), ("2.0", 2)])
def test_an_integer_is_read_exactly(text, number):
    assert exact_int(text) == number and isinstance(exact_int(text), int)


@pytest.mark.parametrize("text", ["1.5", "nan", "inf", "1e-3", "", "seven", "0x10"])
def test_what_is_no_integer_is_refused(text):
    with pytest.raises(ValueError, match="expected an integer"):
        exact_int(text)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e400", "x", ""])
def test_a_float_is_finite(text):
    with pytest.raises(ValueError, match=r"expected a (finite )?number"):
        finite_float(text)
    assert finite_float("0.25") == 0.25


def test_an_empty_path_is_refused():
    with pytest.raises(ValueError, match="empty"):
        nonempty_path("")
    with pytest.raises(ValueError, match="empty"):
        nonempty_path("  ")
    assert nonempty_path("a/b") == Path("a/b")


def test_non_finite_names_every_key_that_holds_one():
    config = {"threshold": math.nan, "dataset": {"epsilon": 0.01},
              "experiments": {"x": {"sweep": {"values": [0.9, math.inf]}}}, "seeds": [0, 1]}
    assert non_finite(config) == ["threshold", "experiments.x.sweep.values.1"]
    assert non_finite({"a": 1, "b": "nan", "c": [True]}) == []  # strings and ints pass


def test_a_config_list_reads_as_yaml_would():
    assert retype_override(["0", "1"]) == [0, 1]
    assert retype_override({"values": ["0.9", "1.0"], "key": "tau"}) == \
        {"values": [0.9, 1.0], "key": "tau"}
    assert retype_override(["jaccard", "exact", ""]) == ["jaccard", "exact", ""]


def test_a_size_beyond_this_machine_is_refused_in_one_line():
    with pytest.raises(SizeError, match=r"a replay needs [\d,.]+ GiB; this machine has"):
        require_memory(physical_memory() + 1, "a replay")
    require_memory(1 << 20, "a replay")


def _fails(argv: list[str], capsys) -> str:
    """``main(argv)``'s one error line (argparse's own errors exit through SystemExit)."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error:"), err
    return err


TRAIN = ["train", "dqn", "--game", "breakout", "--steps", "100"]


def test_the_command_line_keeps_a_long_seed_exact():
    args = build_parser("train").parse_args([*TRAIN, "--seed", "12345678901234567", "--out",
                                             "x"])
    assert args.seed == 12345678901234567


@pytest.mark.parametrize("argv, expected", [
    ([*TRAIN, "--seed", "1.5", "--out", "x"],
     "--seed: expected a seed: an integer >= 0, got '1.5'"),
    ([*TRAIN, "--seed", "0", "--out", ""], "--out: expected a path, got an empty string"),
    ([*TRAIN, "--seed", "0", "--out", "x", "--sticky-prob", "nan"],
     "--sticky-prob: expected a finite number, got 'nan'"),
    ([*TRAIN, "--seed", "0", "--out", "x", "--sticky-prob", "2"],
     "--sticky-prob: expected a number in [0, 1], got '2'"),
    (["expert", "--game", "breakout", "--seed", "0", "--out", "e", "--reference-score", "nan"],
     "--reference-score: expected a finite number, got 'nan'"),
    (["dataset", "--expert", "e", "--size", "10", "--seed", "0", "--out", "d.npz",
      "--epsilon", "inf"], "--epsilon: expected a finite number, got 'inf'"),
    (["aggregate", "r", "--out", "a", "--threshold", "nan"],
     "--threshold: expected a finite number, got 'nan'"),
    (["aggregate", "r", "--out", "a", "--seed", "-5"],
     "--seed: expected a seed: an integer >= 0, got '-5'"),
    (["power", "baseline", "--target", "nan"], "--target: expected a finite number"),
])
def test_a_bad_argument_is_one_line_naming_it(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert expected in _fails(argv, capsys)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("assignment, expected", [
    ("gamma=nan", "expected a finite number, got 'nan'"),
    ("batch_size=2.5", "expected an integer, got '2.5'"),
    ("replay_capacity=1e-3", "expected an integer, got '1e-3'"),
])
def test_set_is_typed_by_the_same_rules(assignment, expected):
    with pytest.raises(ConfigError, match=expected):
        apply_overrides(ALGORITHMS["dqn"].config(), [assignment])


def test_a_replay_that_cannot_fit_is_refused_before_the_run_folder_exists(capsys, tmp_path):
    out = tmp_path / "run"
    err = _fails([*TRAIN, "--seed", "0", "--out", str(out), "--set",
                  "replay_capacity=1000000000000"], capsys)
    assert "a replay of 1,000,000,000,000 transitions needs" in err
    assert not out.exists()


def test_a_dataset_that_cannot_fit_is_refused_before_its_file_exists(capsys, tmp_path):
    out = tmp_path / "data" / "n.npz"
    err = _fails(["dataset", "--expert", str(ROOT / "results" / "experts" / "breakout"),
                  "--size", "1e10", "--seed", "0", "--out", str(out)], capsys)
    assert "a dataset of 10,000,000,000 transitions needs" in err
    assert not out.exists() and not out.with_suffix(".json").exists()


@pytest.mark.parametrize("key, value", [("threshold", ".nan"), ("bootstrap_reps", "2.5")])
def test_the_workflow_start_refuses_what_the_command_line_refuses(key, value):
    text = TEST_CONFIG.read_text()
    config = yaml.safe_load(text)
    config[key] = yaml.safe_load(value)
    with pytest.raises(PlanError, match=f"^{key}: "):
        check_schema(config, SCHEMA)
    nested = yaml.safe_load(text)
    nested["dataset"]["epsilon"] = math.nan
    with pytest.raises(PlanError, match=r"^dataset.epsilon: expected a finite number, got nan"):
        check_schema(nested, SCHEMA)
