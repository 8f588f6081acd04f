"""Every file the suite reads back, damaged: cut, one byte flipped, or swapped with the same
file of another product. The property: the reader refuses in one line naming the file (exit
status 2), or it falls back to a good state and gives exactly the result of the undamaged
file; never a different result without a word (docs/faults.md, issue 30).

Besides the property, the cases of issue 30 that a damaged or foreign file made: a finished
run with a cut metrics.csv, another algorithm's checkpoint, a checkpoint resumed under another
seed, a dataset whose arrays are gone, an expert whose description is bad, a full disk."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from algos.cli import main
from algos.data.datasets import load_true_actions
from algos.errors import UserError
from algos.provenance.runs import file_sha256, sealed
from conftest import ROOT, cli, metrics_without_wall_clock, random_expert_dataset, train_args

pytestmark = pytest.mark.xdist_group("corruption")

EXPERTS = ROOT / "results" / "experts"


def _expert(source: Path, out: Path) -> Path:
    """A copy of a committed expert in this code's format: its policy's checksum recorded and
    expert.json sealed (the committed ones were written before both)."""
    out.mkdir(parents=True)
    shutil.copy(source / "policy.pt", out / "policy.pt")
    info = json.loads((source / "expert.json").read_text())
    info["policy_sha256"] = file_sha256(out / "policy.pt")
    (out / "expert.json").write_text(json.dumps(sealed(info), indent=2) + "\n")
    return out


@pytest.fixture(scope="module")
def products(tmp_path_factory) -> dict[str, Path]:
    """Two of each product: finished DQN runs (seeds 0 and 1; checkpoints at 1000 and 2000),
    datasets, experts, and aggregate folders under a claims root."""
    root = tmp_path_factory.mktemp("products")
    runs = [root / "runs" / "dqn" / "default" / f"seed{seed}" for seed in (0, 1)]
    jobs = [subprocess.Popen([sys.executable, "-m", "algos", *train_args(run, 2000, seed=seed)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for seed, run in enumerate(runs)]
    assert [job.wait(timeout=600) for job in jobs] == [0, 0]
    experts = root / "experts"
    _expert(EXPERTS / "breakout", experts / "breakout")
    _expert(EXPERTS / "space_invaders", root / "other_experts" / "breakout")
    data = [random_expert_dataset(root / "data" / f"s{seed}" / "n500.npz", size=500, seed=seed)
            for seed in (0, 1)]
    claims_roots = []
    for i, folders in enumerate((runs, runs[:1])):
        out = root / f"aggregate{i}" / "baseline"
        assert main(["aggregate", *map(str, folders), "--experts", str(experts), "--reps", "50",
                     "--out", str(out)]) == 0
        claims_roots.append(out.parent)
    return {"run": runs[0], "other_run": runs[1], "data": data[0].parent,
            "other_data": data[1].parent, "expert": experts / "breakout",
            "other_expert": root / "other_experts" / "breakout", "experts": experts,
            "aggregate": claims_roots[0], "other_aggregate": claims_roots[1], "root": root}


@dataclass(frozen=True)
class Kind:
    """A file the suite reads, in which product, and the command that reads it."""

    product: str  # a key of ``products`` (its twin for swaps: "other_" + it)
    file: str  # relative to the product
    read: Callable[[dict[str, Path], Path, Path], tuple[int, str, object]]
    """(products, the damaged product's copy, a scratch folder) -> (exit status, stderr, the
    result: what a reader made of the file)."""


def _main(args: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def _kinds(capsys) -> dict[str, Kind]:
    def aggregate(p, run, scratch):
        out = scratch / "agg"
        code, err = _main(["aggregate", str(run), str(p["other_run"]), "--experts",
                           str(p["experts"]), "--reps", "50", "--out", str(out)], capsys)
        return code, err, code == 0 and [(out / f).read_text() for f in ("scores.csv",
                                                                         "curves.csv")]

    def resume(p, run, scratch):
        (run / "summary.json").unlink()
        result = cli(*train_args(run, 2000, seed=0))
        return result.returncode, result.stderr, result.returncode == 0 and \
            metrics_without_wall_clock(run)

    def check_dataset(p, data, scratch):
        code, err = _main(["check-dataset", str(data / "n500.npz")], capsys)
        return code, err, code == 0 and json.loads((data / "n500.json").read_text())["sha256"]

    def true_actions(p, data, scratch):
        try:
            return 0, "", load_true_actions(data / "n500.npz").tolist()
        except UserError as err:
            return 2, f"error: {err}\n", None

    def dataset(p, expert, scratch):
        out = scratch / "d" / "n50.npz"
        code, err = _main(["dataset", "--expert", str(expert), "--size", "50", "--seed", "0",
                           "--no-effects", "--out", str(out)], capsys)
        return code, err, code == 0 and json.loads(out.with_suffix(".json").read_text())["sha256"]

    def claims(p, root, scratch):
        out = scratch / "claims.csv"
        code, err = _main(["claims", str(root), "--out", str(out)], capsys)
        return code, err, code == 0 and out.read_text()

    kinds = {f"run {name}": Kind("run", name, aggregate)
             for name in ("config.json", "metrics.csv", "diagnostics.csv", "run.json",
                          "summary.json")}
    kinds.update({
        "checkpoint": Kind("run", "checkpoint/state.pt", resume),
        "dataset arrays": Kind("data", "n500.npz", check_dataset),
        "dataset description": Kind("data", "n500.json", check_dataset),
        "dataset true actions": Kind("data", "n500.actions.npy", true_actions),
        "expert policy": Kind("expert", "policy.pt", dataset),
        "expert description": Kind("expert", "expert.json", dataset),
        "aggregate scores": Kind("aggregate", "baseline/scores.csv", claims),
        "aggregate curves": Kind("aggregate", "baseline/curves.csv", claims),
        "aggregate index": Kind("aggregate", "baseline/tables.json", claims),
    })
    return kinds


KINDS = ["run config.json", "run metrics.csv", "run diagnostics.csv", "run run.json",
         "run summary.json", "checkpoint", "dataset arrays", "dataset description",
         "dataset true actions", "expert policy", "expert description", "aggregate scores",
         "aggregate curves", "aggregate index"]


_EXPECTED: dict[str, tuple] = {}


def _cut(path: Path, other: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(at: float) -> Callable[[Path, Path], None]:
    def flip(path: Path, other: Path) -> None:
        data = bytearray(path.read_bytes())
        data[int(len(data) * at)] ^= 0x01
        path.write_bytes(bytes(data))
    return flip


def _swap(path: Path, other: Path) -> None:
    path.write_bytes(other.read_bytes())


# A flipped byte where the file begins, in its middle and where it ends: headers, payloads and
# a file's closing bytes are read by different code.
CORRUPTIONS = {"cut": _cut, "flip-start": _flip(0.02), "flip-middle": _flip(0.5),
               "flip-end": _flip(0.98), "swap": _swap}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_file_is_refused_in_one_line_or_changes_nothing(products, tmp_path, capsys,
                                                                  kind, corruption):
    spec = _kinds(capsys)[kind]
    # The same place under each test's folder: a run's variant is its folder's parent's name.
    good = tmp_path / "good" / "default" / "seed0"
    shutil.copytree(products[spec.product], good)
    bad = tmp_path / "bad" / "default" / "seed0"
    shutil.copytree(products[spec.product], bad)
    CORRUPTIONS[corruption](bad / spec.file, products[f"other_{spec.product}"] / spec.file)
    assert (bad / spec.file).read_bytes() != (good / spec.file).read_bytes()
    (tmp_path / "s1").mkdir()
    (tmp_path / "s2").mkdir()
    if kind not in _EXPECTED:  # what the undamaged file gives (the same for every corruption)
        _EXPECTED[kind] = spec.read(products, good, tmp_path / "s1")
    expected = _EXPECTED[kind]
    assert expected[0] == 0, expected[1]
    code, err, result = spec.read(products, bad, tmp_path / "s2")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    if code == 0:
        # A fallback (the checkpoint before) or a byte no reader uses: the same result.
        assert not errors and result == expected[2], err
    else:
        assert code == 2, err
        assert len(errors) == 1 and str(bad) in errors[0], err
        assert not (tmp_path / "s2" / "agg").exists() and not (tmp_path / "s2" / "d").exists()


def test_the_property_covers_every_kind_of_file(capsys):
    assert set(_kinds(capsys)) == set(KINDS) and len(KINDS) * len(CORRUPTIONS) == 70


# --- the cases of issue 30 ---------------------------------------------------------------------

def test_a_finished_run_with_a_cut_metrics_csv_is_not_taken_as_done(products, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(products["run"], run)
    text = (run / "metrics.csv").read_text()
    (run / "metrics.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 20])
    result = cli(*train_args(run, 2000, seed=0))
    assert result.returncode == 2 and "nothing to do" not in result.stdout
    assert result.stderr.strip().splitlines() == [
        f"error: {run / 'metrics.csv'}: not the file its run wrote (its checksum differs from "
        "the one in summary.json): cut, edited or swapped"]
    result = cli("aggregate", str(run), "--out", str(tmp_path / "agg"))
    assert result.returncode == 2 and "metrics.csv: not the file its run wrote" in result.stderr
    assert not (tmp_path / "agg").exists()


def _unfinished(products, tmp_path: Path, name: str = "run") -> Path:
    run = tmp_path / name
    shutil.copytree(products["run"], run)
    (run / "summary.json").unlink()
    return run


def test_a_flipped_byte_in_a_weight_falls_back_to_the_checkpoint_before(products, tmp_path):
    """The byte sits in the last tensors' data (the end of the payload), where torch's own
    reader checks nothing."""
    run = _unfinished(products, tmp_path)
    checkpoint = run / "checkpoint" / "state.pt"
    data = bytearray(checkpoint.read_bytes())
    data[-3000] ^= 0x40
    checkpoint.write_bytes(bytes(data))
    result = cli(*train_args(run, 2000, seed=0))
    assert result.returncode == 0, result.stderr
    assert "its checksum differs from its header's" in result.stderr
    assert metrics_without_wall_clock(run) == metrics_without_wall_clock(products["run"])


def test_another_algorithms_checkpoint_is_not_resumed(products, tmp_path):
    """A GAIfO state.pt copied into a DQN folder is refused: the run resumes from its own
    checkpoint before it and ends as the DQN run does (not as GAIfO's); with both checkpoints
    GAIfO's, it stops in one line."""
    data = random_expert_dataset(tmp_path / "data" / "n500.npz", size=500)
    gaifo = tmp_path / "gaifo"
    cli(*train_args(gaifo, 1000, algo="gaifo", dataset=data), check=True)
    run = _unfinished(products, tmp_path)
    shutil.copy(gaifo / "checkpoint" / "state.pt", run / "checkpoint" / "state.pt")
    result = cli(*train_args(run, 2000, seed=0))
    assert result.returncode == 0 and "it is another run's" in result.stderr, result.stderr
    assert metrics_without_wall_clock(run) == metrics_without_wall_clock(products["run"])
    run = _unfinished(products, tmp_path, "both")
    for name in ("state.pt", "state.prev.pt"):
        shutil.copy(gaifo / "checkpoint" / "state.pt", run / "checkpoint" / name)
    before = (run / "metrics.csv").read_bytes()
    result = cli(*train_args(run, 2000, seed=0))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "no usable checkpoint of this run" in lines[0] and \
        "another run's" in lines[0], result.stderr
    assert (run / "metrics.csv").read_bytes() == before


@pytest.mark.parametrize("also_deleted", [(), ("run.json",)])
def test_without_config_json_another_seeds_checkpoint_is_not_resumed(products, tmp_path,
                                                                    also_deleted):
    """config.json deleted, the command asks for seed 7 and another lr: neither the seed-0
    checkpoint nor its run.json is taken as this run's."""
    run = _unfinished(products, tmp_path)
    for name in ("config.json", *also_deleted):
        (run / name).unlink()
    result = cli(*train_args(run, 2000, seed=7, extra=("--set", "lr=0.01")))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "another run's" in lines[0], result.stderr
    assert not (run / "config.json").exists() and not (run / "summary.json").exists()


def test_a_checkpoint_of_the_format_before_identities_resumes_only_beside_its_config(
        products, tmp_path):
    """A checkpoint without the header (written before it) resumes where config.json matches
    the run, and gives the same run; without config.json it is refused."""
    from algos.training.checkpoint import HEADER_SIZE

    run = _unfinished(products, tmp_path)
    for name in ("state.pt", "state.prev.pt"):
        path = run / "checkpoint" / name
        path.write_bytes(path.read_bytes()[HEADER_SIZE:])
    result = cli(*train_args(run, 2000, seed=0))
    assert result.returncode == 0, result.stderr
    assert metrics_without_wall_clock(run) == metrics_without_wall_clock(products["run"])
    orphan = _unfinished(products, tmp_path, "orphan")
    for name in ("state.pt", "state.prev.pt"):
        path = orphan / "checkpoint" / name
        path.write_bytes(path.read_bytes()[HEADER_SIZE:])
    for name in ("config.json", "run.json"):
        (orphan / name).unlink()
    result = cli(*train_args(orphan, 2000, seed=0))
    assert result.returncode == 2 and "without its run's identity" in result.stderr


def test_a_dataset_whose_arrays_are_gone_is_made_again(tmp_path):
    out = tmp_path / "n300.npz"
    args = ["dataset", "--expert", str(EXPERTS / "breakout"), "--size", "300", "--seed", "0",
            "--no-effects", "--out", str(out)]
    cli(*args, check=True)
    sums = {p.name: file_sha256(p) for p in tmp_path.iterdir()}
    out.unlink()
    result = cli(*args)
    assert result.returncode == 0 and "arrays made again" in result.stdout, result.stderr
    assert {p.name: file_sha256(p) for p in tmp_path.iterdir()} == sums
    assert cli("check-dataset", str(out)).returncode == 0


def test_an_expert_with_a_bad_eval_field_writes_no_dataset(tmp_path, capsys):
    expert = tmp_path / "expert"
    expert.mkdir()
    shutil.copy(EXPERTS / "breakout" / "policy.pt", expert / "policy.pt")
    info = json.loads((EXPERTS / "breakout" / "expert.json").read_text())
    info["eval"] = 5
    (expert / "expert.json").write_text(json.dumps(info))
    out = tmp_path / "data" / "n50.npz"
    code, err = _main(["dataset", "--expert", str(expert), "--size", "50", "--seed", "0",
                       "--out", str(out)], capsys)
    assert code == 2 and err.strip().splitlines() == [
        f"error: {expert / 'expert.json'}: not an expert description (eval needs numbers "
        "return_mean, return_std and episodes)"]
    assert not (tmp_path / "data").exists()


def test_a_full_disk_while_a_dataset_is_written_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "data" / "n3000.npz"

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))

    result = subprocess.run([sys.executable, "-m", "algos", "dataset", "--expert",
                             str(EXPERTS / "breakout"), "--size", "3000", "--seed", "0",
                             "--no-effects", "--out", str(out)], cwd=ROOT, capture_output=True,
                            text=True, preexec_fn=small_files, timeout=600)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {out}: cannot write the dataset (File too large); nothing of it was written"]
    assert list((tmp_path / "data").iterdir()) == []


def test_an_expert_policy_that_is_not_the_described_one_is_refused(products, tmp_path,
                                                                  capsys):
    expert = tmp_path / "expert"
    shutil.copytree(products["expert"], expert)
    shutil.copy(EXPERTS / "space_invaders" / "policy.pt", expert / "policy.pt")
    code, err = _main(["dataset", "--expert", str(expert), "--size", "50", "--seed", "0",
                       "--out", str(tmp_path / "d" / "n50.npz")], capsys)
    assert code == 2 and err.strip() == (
        f"error: {expert / 'policy.pt'}: not the policy its expert.json describes (its checksum "
        "differs): changed or swapped after it was written")

