"""The spot-check of a committed run (python -m algos verify): a run trained again from its
config.json matches its own files; a changed value, a stale revision or a damaged file is
found."""

import json

import pytest

from algos.algorithms import SHARED_REVISION
from algos.provenance.existing import RerunError
from algos.provenance.runs import RunDir, atomic_write_json, config_identity
from algos.train import project_of, require_arrays
from conftest import ROOT, cli, metrics_without_wall_clock, train_args

pytestmark = pytest.mark.xdist_group("verify")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("verify") / "seed0"
    cli(*train_args(run, steps=1000), check=True)
    return run


def _copy(run, tmp_path, edit_file: str, edit) -> RunDir:
    """A copy of ``run`` with one file edited and sealed again, as a writer that wrote it so
    would (an edited config.json is also the identity in run.json)."""
    copy = RunDir(tmp_path / "copy")
    copy.root.mkdir()
    for name in ("config.json", "metrics.csv", "diagnostics.csv", "run.json"):
        (copy.root / name).write_bytes((run / name).read_bytes())
    path = copy.root / edit_file
    path.write_text(edit(path.read_text()))
    if edit_file == "config.json":
        info = json.loads(copy.run_info.read_text())
        info["config_sha256"] = config_identity(json.loads(path.read_text()))
        atomic_write_json(copy.run_info, info)
    summary = json.loads((run / "summary.json").read_text())
    atomic_write_json(copy.summary, {**summary, "files": copy.checksums()})
    return copy


def test_a_run_trained_again_matches_its_committed_rows(finished):
    result = cli("verify", str(finished), "--steps", "1000")
    assert result.returncode == 0, result.stderr
    assert "reproduced: its first 2 evaluations (to step 1000)" in result.stdout


def test_a_changed_value_is_found_with_its_step_and_column(finished, tmp_path):
    def edit(text: str) -> str:
        lines = text.splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        cells = lines[2].rstrip("\n").split(",")  # the evaluation at step 1000
        cells[header.index("loss_mean")] = "0.123456"
        lines[2] = ",".join(cells) + "\n"
        return "".join(lines)

    copy = _copy(finished, tmp_path, "metrics.csv", edit)
    result = cli("verify", str(copy.root), "--steps", "1000")
    assert result.returncode == 1
    assert "NOT reproduced: metrics.csv at step 1000, loss_mean: '0.123456' in the run" in \
        result.stderr


def test_a_stale_or_damaged_run_is_refused_in_one_line(finished, tmp_path):
    def older(text: str) -> str:
        config = json.loads(text)
        config["revision"]["shared"] = 0
        return json.dumps(config)

    stale = _copy(finished, tmp_path, "config.json", older)
    result = cli("verify", str(stale.root))
    assert result.returncode == 2 and "it is stale" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (stale.root / "metrics.csv").write_text("env_steps\n0\n")  # cut, not sealed again
    result = cli("verify", str(stale.root))
    assert result.returncode == 2 and "metrics.csv: not the file its run wrote" in result.stderr


def test_a_run_of_older_code_is_set_aside_whole_and_trained_anew(finished, tmp_path):
    """A finished run whose config.json records another code revision is stale: the train
    command moves its folder under results/stale/ (nothing deleted) and trains it anew."""
    def older(text: str) -> str:
        config = json.loads(text)
        config["revision"]["dqn"] = 0
        return json.dumps(config, indent=2) + "\n"

    copy = _copy(finished, tmp_path, "config.json", older)
    run = tmp_path / "results" / "runs" / "breakout" / "dqn" / "default" / "seed0"
    run.parent.mkdir(parents=True)
    copy.root.rename(run)
    stale_metrics = (run / "metrics.csv").read_text()
    result = cli(*train_args(run, steps=1000))
    assert result.returncode == 0, result.stderr
    aside = (tmp_path / "results" / "stale" / "breakout" / "dqn" / "default" /
             f"seed0-shared{SHARED_REVISION}-dqn0")
    assert f"set it aside as {aside}" in result.stderr
    assert (aside / "metrics.csv").read_text() == stale_metrics
    assert json.loads((run / "config.json").read_text())["revision"]["dqn"] == 1
    assert metrics_without_wall_clock(run) == metrics_without_wall_clock(finished)


def test_a_setting_added_at_its_default_leaves_older_runs_valid(finished, tmp_path):
    """A run that predates a setting is the same run where the setting is asked at its default
    (an option added with a default that keeps the old behaviour changes no result); at another
    value it is another run."""
    from algos.provenance.existing import settings_differences

    saved = json.loads((finished / "config.json").read_text())
    asked = json.loads(json.dumps(saved))
    del saved["algo_config"]["double"]  # as if the run predated the setting
    assert settings_differences(saved, asked) == []
    asked["algo_config"]["double"] = False
    assert settings_differences(saved, asked) == ["algo_config.double None -> False"]


def test_a_dataset_is_its_content_not_the_path_that_named_it(tmp_path):
    """The same dataset given by another path (relative, absolute, a copy) is named as the
    run's config.json names it, so the run's settings and identity are unchanged; another
    dataset at the same path is not."""
    from algos.provenance.existing import keep_saved_dataset_path, settings_differences

    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    saved = {"algo": "diiqn", "seed": 0, "algo_config": {},
             "dataset": {"path": "results/datasets/breakout/n30000.npz", "sha256": "ab"}}
    atomic_write_json(run.config, saved)
    asked = json.loads(json.dumps(saved))
    asked["dataset"]["path"] = "/home/me/clone/results/datasets/breakout/n30000.npz"
    keep_saved_dataset_path(run, asked)
    assert asked == saved and settings_differences(saved, asked) == []
    other = json.loads(json.dumps(saved))
    other["dataset"].update(path="/elsewhere/n30000.npz", sha256="cd")
    keep_saved_dataset_path(run, other)
    assert settings_differences(saved, other) == [
        "dataset.path results/datasets/breakout/n30000.npz -> /elsewhere/n30000.npz",
        "dataset.sha256 ab -> cd"]


def test_a_run_s_project_is_the_folder_above_its_results_runs(tmp_path, monkeypatch):
    run = tmp_path / "clone" / "results" / "runs" / "breakout" / "dqn" / "default" / "seed0"
    run.mkdir(parents=True)
    assert project_of(run) == tmp_path / "clone"
    monkeypatch.chdir(tmp_path)
    assert project_of(tmp_path / "elsewhere") == tmp_path  # no results/runs above: here


def test_a_dataset_described_but_not_made_says_how_to_make_it(tmp_path):
    """A fresh clone holds datasets' descriptions only: verify names the command that makes
    the arrays again, with the project's paths."""
    description = ROOT / "results" / "datasets" / "breakout" / "n30000.json"
    target = tmp_path / "results" / "datasets" / "breakout" / "n30000.npz"
    target.parent.mkdir(parents=True)
    target.with_suffix(".json").write_bytes(description.read_bytes())
    info = json.loads(description.read_text())
    with pytest.raises(RerunError) as error:
        require_arrays(target, tmp_path)
    assert str(error.value) == (
        f"{target}: its arrays are not here (a checkout holds its description only); make them "
        "again from it (deterministic, about a minute): python -m algos dataset --expert "
        f"{tmp_path / info['expert']['path']} --size 30000 --seed {info['seed']} --epsilon "
        f"{info['epsilon']} --out {target}")
    require_arrays(tmp_path / "no_description.npz", tmp_path)  # the loader's own error follows
