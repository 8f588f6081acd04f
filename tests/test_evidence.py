"""The committed evidence (make test-evidence, in CI): every committed aggregate table and every
row of claims.csv is what this code recomputes from the committed runs (the README's verdicts
are claims.csv's word for word: tests/test_tables.py), and one committed run of each algorithm
is reproduced by training its first steps again (``python -m algos verify``).
docs/runs.md says how the evidence is made and committed."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from algos.algorithms import ALGORITHMS
from algos.evidence.aggregate import TABLES
from algos.evidence.experiments import plan
from conftest import ROOT, cli

pytestmark = [pytest.mark.slow, pytest.mark.evidence]

RESULTS = ROOT / "results"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
PLAN = plan(CONFIG)
AGGREGATES = sorted(path.parent for path in (RESULTS / "aggregate").glob("*/manifest.json"))


def _finished_runs() -> dict[str, list[Path]]:
    """The finished runs under results/runs, by algorithm (read from each config.json)."""
    runs: dict[str, list[Path]] = {}
    for summary in sorted((RESULTS / "runs").glob("*/*/*/*/summary.json")):
        config = json.loads((summary.parent / "config.json").read_text())
        runs.setdefault(config["algo"], []).append(summary.parent)
    return runs


RUNS = _finished_runs()


def _assert_same_tables(committed: Path, recomputed: Path, name: str) -> None:
    expected, found = pd.read_csv(committed), pd.read_csv(recomputed)
    # Floats are compared to 1e-9: another CPU's numpy may sum in another order.
    pd.testing.assert_frame_equal(found, expected, check_exact=False, rtol=1e-9, atol=1e-12,
                                  obj=name)


def test_every_algorithm_has_a_committed_run():
    assert set(RUNS) == set(ALGORITHMS), f"no committed run of {set(ALGORITHMS) - set(RUNS)}"


@pytest.mark.parametrize("folder", AGGREGATES, ids=lambda path: path.name)
def test_a_committed_manifest_is_what_the_config_plans(folder):
    """A method added to an experiment, trained and committed, with the experiment's aggregate
    made from its older manifest, leaves the method out of every table without an error."""
    planned = json.loads(json.dumps(PLAN[folder.name].manifest()))
    assert json.loads((folder / "manifest.json").read_text()) == planned, (
        f"{folder.name}'s committed manifest is not config/config.yaml's plan: rebuild it "
        "(docs/runs.md, step 4)")


@pytest.mark.parametrize("folder", AGGREGATES, ids=lambda path: path.name)
def test_a_committed_aggregate_is_what_its_committed_runs_give(folder, tmp_path):
    # First the likeliest cause, named: a run finished (and committed) after its aggregate.
    planned = json.loads((folder / "manifest.json").read_text())["runs"]
    finished = {run["folder"] for run in planned
                if (ROOT / run["folder"] / "summary.json").is_file()}
    scores = pd.read_csv(folder / "scores.csv")
    scored = {f"results/runs/{r.env}/{r.algo}/{r.variant}/seed{r.seed}"
              for r in scores.itertuples()}
    assert finished <= scored, (
        f"finished runs missing from {folder.name}'s committed aggregate: "
        f"{sorted(finished - scored)}; rebuild it (docs/runs.md, step 4)")
    out = tmp_path / folder.name
    cli("aggregate", "--manifest", str(folder / "manifest.json"), "--experts",
        str(RESULTS / "experts"), "--out", str(out), "--experiment", folder.name,
        "--last", str(CONFIG.get("last_evaluations", 3)),
        "--reps", str(CONFIG.get("bootstrap_reps", 2000)),
        "--threshold", str(CONFIG.get("threshold", 0.9)), check=True)
    for table in TABLES:
        _assert_same_tables(folder / f"{table}.csv", out / f"{table}.csv",
                            f"{folder.name}/{table}.csv")


def test_the_committed_claims_are_what_the_committed_aggregates_give(tmp_path):
    committed = RESULTS / "aggregate" / "claims.csv"
    assert committed.is_file(), "results/aggregate/claims.csv is not committed"
    out = tmp_path / "claims.csv"
    cli("claims", str(RESULTS / "aggregate"), "--out", str(out), check=True)
    expected, found = pd.read_csv(committed), pd.read_csv(out)
    if found["pre_registered"].astype(str).str.startswith("unknown").any():
        # A shallow clone has no history to date the claims by: the rest must still agree.
        expected, found = (table.drop(columns="pre_registered") for table in (expected, found))
    pd.testing.assert_frame_equal(found, expected, check_exact=False, rtol=1e-9, atol=1e-12,
                                  obj="claims.csv")


def _dataset_of(run: Path) -> None:
    """Make the run's dataset arrays again (datasets are committed as descriptions only)."""
    path = Path(json.loads((run / "config.json").read_text())["dataset"]["path"])
    description = json.loads((ROOT / path).with_suffix(".json").read_text())
    cli("dataset", "--expert", description["expert"]["path"], "--size",
        str(description["size"]), "--seed", str(description["seed"]), "--epsilon",
        str(description["epsilon"]), "--out", str(path), check=True)


@pytest.mark.parametrize("algo", sorted(RUNS))
def test_a_committed_run_of_each_algorithm_is_trained_again_identically(algo):
    run = RUNS[algo][0]
    config = json.loads((run / "config.json").read_text())
    if ALGORITHMS[algo].needs_dataset:
        _dataset_of(run)
    # To the first evaluation after learning has started: its loss and diagnostics show the
    # updates.
    first_learning = config["algo_config"]["replay_start"] + 1
    result = cli("verify", str(run.relative_to(ROOT)), "--steps", str(first_learning))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproduced" in result.stdout


def _run_of_this_commit(most_steps: int = 30_000) -> Path:
    """One committed run of at most ``most_steps`` steps, chosen by the checked-out commit's
    hash: over the commits CI sees, every such run is trained again to its end in turn."""
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    short = sorted(run for runs in RUNS.values() for run in runs
                   if json.loads((run / "config.json").read_text())["steps"] <= most_steps)
    return short[int(commit, 16) % len(short)]


def test_a_committed_run_chosen_by_the_commit_is_trained_again_to_its_end():
    """Every row of metrics.csv and diagnostics.csv, to the run's last step: a forged run whose
    seals were recomputed passes every read-back check, but not this one."""
    run = _run_of_this_commit()
    config = json.loads((run / "config.json").read_text())
    if ALGORITHMS[config["algo"]].needs_dataset:
        _dataset_of(run)
    result = cli("verify", str(run.relative_to(ROOT)), "--steps", str(config["steps"]))
    print(run, result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"(to step {config['steps']})" in result.stdout
