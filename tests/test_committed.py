"""The committed evidence, which no tool may lose or launder (docs/faults.md, "Committed
evidence"): every read of a finished run, an expert's or a dataset's description goes through
its one reader (seals, the run's identity, its rows); an aggregate that would lose a run stops;
the aggregate and the figures are written whole or not at all; the staging step stages no
deletion and nothing that fails its seal. The workflow's part (interrupts, markers):
tests/test_interrupted.py."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from algos.cli import main
from algos.provenance.readers import read_run
from algos.provenance.runs import (
    RunDir,
    RunFileError,
    atomic_write_folder,
    atomic_write_json,
    sealed,
)
from conftest import ROOT, cli, train_args

pytestmark = pytest.mark.xdist_group("committed")

EXPERTS = ROOT / "results" / "experts"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """Two finished DQN runs of 2000 steps (evaluations at 0, 1000 and 2000), seeds 0 and 1, in
    the workflow's layout."""
    root = tmp_path_factory.mktemp("committed")
    folders = [root / "runs" / "breakout" / "dqn" / "default" / f"seed{seed}" for seed in (0, 1)]
    jobs = [subprocess.Popen([sys.executable, "-m", "algos", *train_args(run, 2000, seed=seed)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for seed, run in enumerate(folders)]
    assert [job.wait(timeout=900) for job in jobs] == [0, 0]
    return folders


def _main(args: list[str], capsys) -> tuple[int, list[str]]:
    """``python -m algos ARGS`` in this process: its exit status and its ``error:`` lines."""
    capsys.readouterr()
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    return code, [line for line in capsys.readouterr().err.splitlines()
                  if line.startswith("error:")]


def _forged(run: Path, to: Path, name: str, edit) -> Path:
    """A copy of ``run`` at ``to`` with its file ``name`` edited (``edit(text) -> text``) and the
    run sealed again: what a seal alone cannot tell from the run."""
    shutil.copytree(run, to, ignore=shutil.ignore_patterns("checkpoint", ".lock"))
    path = to / name
    path.write_text(edit(path.read_text()))
    summary = json.loads((to / "summary.json").read_text())
    atomic_write_json(to / "summary.json", {**summary, "files": RunDir(to).checksums()})
    return to


def _past_the_budget(text: str) -> str:
    """A row appended after the run's last one, at its step + 1000 (the budget is 2000)."""
    last = text.splitlines()[-1].split(",", 1)
    return text + f"{int(last[0]) + 1000},{last[1]}\n"


def _json_edit(change):
    def edit(text: str) -> str:
        data = json.loads(text)
        change(data)
        return json.dumps(data, indent=2) + "\n"
    return edit


# (the case, the file edited and sealed again, the edit, what the one line says)
FORGERIES = [
    ("a row past the budget", "metrics.csv", _past_the_budget,
     "metrics.csv: not the evaluations of its run (a row at step 3000, after the run's "
     "evaluations end at step 2000)"),
    ("a row dropped from diagnostics.csv", "diagnostics.csv",
     lambda text: "".join(text.splitlines(keepends=True)[:-1]),
     "diagnostics.csv: not on metrics.csv's steps (no row for step 2000, one of metrics.csv's "
     "rows)"),
    ("a row out of the run's schedule", "metrics.csv",
     lambda text: text.replace("\n1000,", "\n1500,", 1),
     "metrics.csv: not the evaluations of its run (a row at step 1500 where the run's "
     "evaluations have step 1000)"),
    ("config.json's seed changed", "config.json", _json_edit(lambda c: c.update(seed=7)),
     "config.json: not the config of its run (run.json's config_sha256 is another config's)"),
    ("run.json's identity removed", "run.json", _json_edit(lambda i: i.pop("config_sha256")),
     "run.json: no config_sha256, its run's identity"),
]


@pytest.mark.parametrize(("name", "edit", "message"), [case[1:] for case in FORGERIES],
                         ids=[case[0] for case in FORGERIES])
def test_a_run_sealed_again_after_an_edit_is_refused_by_every_reader(runs, tmp_path, capsys,
                                                                      name, edit, message):
    """The aggregate (beside the run it was copied from: not a second seed), the train
    command's "nothing to do", verify and status all read it through ``read_run``."""
    forged = _forged(runs[0], tmp_path / "runs" / "breakout" / "dqn" / "forged" / "seed0",
                     name, edit)
    line = f"error: {forged}/{message}"
    with pytest.raises(RunFileError) as caught:
        read_run(forged)
    assert f"error: {caught.value}".startswith(line)
    out = tmp_path / "agg"
    code, errors = _main(["aggregate", runs[0], forged, "--reps", "50", "--out", out], capsys)
    assert code == 2 and len(errors) == 1 and errors[0].startswith(line), errors
    assert not out.exists()
    code, errors = _main(train_args(forged, 2000), capsys)
    assert code == 2 and len(errors) == 1, errors  # not "nothing to do"
    code, errors = _main(["verify", forged], capsys)
    assert code == 2 and len(errors) == 1 and errors[0].startswith(line), errors
    capsys.readouterr()
    assert main(["status", str(forged)]) == 0
    assert f" broken ({message.split(': ', 1)[0]}" in capsys.readouterr().out


def test_a_run_of_before_identities_reads_only_as_the_repository_shipped_it(tmp_path):
    """A committed run whose run.json has no config_sha256 (listed in before_seals) reads; its
    config.json changed and the run sealed again does not."""
    shipped = ROOT / "results" / "stale" / "space_invaders" / "oril" / "default" / \
        "seed0-shared1-oril1"
    assert "config_sha256" not in json.loads((shipped / "run.json").read_text())
    assert read_run(shipped).config["algo"] == "oril"
    forged = _forged(shipped, tmp_path / "run", "config.json",
                     _json_edit(lambda c: c.update(seed=5)))
    with pytest.raises(RunFileError) as caught:
        read_run(forged)
    assert str(caught.value).startswith(
        f"{forged}/run.json: no config_sha256, its run's identity, and config.json is not that "
        "of a run the repository shipped before identities")


def _sealed_expert(out: Path) -> Path:
    """A copy of the committed Breakout expert in this code's format: its policy's checksum
    recorded and expert.json sealed."""
    from algos.provenance.runs import file_sha256

    out.mkdir(parents=True)
    shutil.copy(EXPERTS / "breakout" / "policy.pt", out / "policy.pt")
    info = json.loads((EXPERTS / "breakout" / "expert.json").read_text())
    info["policy_sha256"] = file_sha256(out / "policy.pt")
    (out / "expert.json").write_text(json.dumps(sealed(info), indent=2) + "\n")
    return out


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n")


EXPERT_EDITS = [  # (the case, the edit of a sealed expert.json, what the one line says)
    ("its return changed", lambda info: info["eval"].update(return_mean=99.0),
     "its contents differ from its own checksum (sealed_sha256): changed after it was "
     "written"),
    ("its seal removed", lambda info: info.pop("sealed_sha256"),
     "no seal (sealed_sha256), and not a file the repository shipped before seals "
     "(algos/provenance/before_seals.py): changed, or its seal removed"),
]


@pytest.mark.parametrize(("change", "message"), [case[1:] for case in EXPERT_EDITS],
                         ids=[case[0] for case in EXPERT_EDITS])
def test_an_experts_description_is_read_against_its_seal_by_the_aggregate_and_dataset(
        runs, tmp_path, capsys, change, message):
    experts = tmp_path / "experts"
    expert = _sealed_expert(experts / "breakout")
    _edit_json(expert / "expert.json", change)
    code, errors = _main(["aggregate", runs[0], "--experts", experts, "--reps", "50", "--out",
                          tmp_path / "agg"], capsys)
    assert code == 2 and errors == [f"error: {expert / 'expert.json'}: {message}"]
    code, errors = _main(["dataset", "--expert", expert, "--size", "50", "--seed", "0",
                          "--out", tmp_path / "d" / "n50.npz"], capsys)
    assert code == 2 and errors == [f"error: {expert / 'expert.json'}: {message}"]
    assert not (tmp_path / "agg").exists() and not (tmp_path / "d").exists()


def test_an_unsealed_expert_reads_only_byte_for_byte_as_shipped(runs, tmp_path, capsys):
    experts = tmp_path / "experts"
    (experts / "breakout").mkdir(parents=True)
    shutil.copy(EXPERTS / "breakout" / "expert.json", experts / "breakout")
    code, _ = _main(["aggregate", runs[0], "--experts", experts, "--reps", "50", "--out",
                     tmp_path / "agg"], capsys)
    assert code == 0
    _edit_json(experts / "breakout" / "expert.json",
               lambda info: info["eval"].update(return_mean=3.0))
    code, errors = _main(["aggregate", runs[0], "--experts", experts, "--reps", "50", "--out",
                          tmp_path / "agg2"], capsys)
    assert code == 2 and len(errors) == 1 and "not a file the repository shipped" in errors[0]


def test_a_dataset_description_without_its_seal_is_refused(tmp_path, capsys):
    from conftest import random_expert_dataset

    data = random_expert_dataset(tmp_path / "n300.npz", size=300)
    _edit_json(data.with_suffix(".json"), lambda info: info.pop("sealed_sha256"))
    code, errors = _main(["check-dataset", data], capsys)
    assert code == 2 and errors == [
        f"error: {data.with_suffix('.json')}: no seal (sealed_sha256), and not a file the "
        "repository shipped before seals (algos/provenance/before_seals.py): changed, or its "
        "seal removed"]


def _manifest(path: Path, folders: list[Path]) -> Path:
    path.write_text(json.dumps({"experiment": "kept", "runs": [
        {"folder": str(folder), "method": "dqn", "env": "breakout", "seed": int(folder.name[4:])}
        for folder in folders]}))
    return path


def _aggregate(capsys, out: Path, *runs: Path, manifest: Path | None = None
               ) -> tuple[int, list[str]]:
    """``aggregate`` of ``runs`` (or ``manifest``'s) into ``out``, normalised by the committed
    experts."""
    given = ["--manifest", manifest] if manifest else list(runs)
    return _main(["aggregate", *given, "--experts", EXPERTS, "--reps", "50", "--out", out],
                 capsys)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_an_aggregate_rebuilt_from_fewer_runs_stops_naming_them(runs, tmp_path, capsys):
    out = tmp_path / "agg"
    assert _aggregate(capsys, out, *runs)[0] == 0
    before = _bytes(out)
    code, errors = _aggregate(capsys, out, runs[0])
    assert code == 2 and errors == [
        f"error: {out}: rebuilt, it would lose 1 of the runs it scores (breakout/dqn/default/"
        "seed1): restore them (git checkout -- FOLDER), or, to drop them, take them out of the "
        "config (or write to another --out)"]
    assert _bytes(out) == before
    # The workflow's way: its manifest still plans the run, whose folder is gone.
    gone = tmp_path / "gone" / "breakout" / "dqn" / "default" / "seed1"
    shutil.copytree(runs[1], gone)
    manifest = _manifest(tmp_path / "gone.json", [runs[0], gone])
    assert _aggregate(capsys, tmp_path / "agg_gone", manifest=manifest)[0] == 0
    shutil.rmtree(gone)
    code, errors = _aggregate(capsys, tmp_path / "agg_gone", manifest=manifest)
    assert code == 2 and len(errors) == 1
    assert f"would lose 1 of the runs it scores ({gone})" in errors[0]
    # A run the config moved out of the plan is no loss: the rebuild leaves it out.
    code, _ = _aggregate(capsys, out, manifest=_manifest(tmp_path / "one.json", runs[:1]))
    assert code == 0 and (out / "scores.csv").read_text().count("\n") == 2


def test_an_aggregate_whose_scores_are_cut_is_not_rebuilt_without_a_word(runs, tmp_path,
                                                                         capsys):
    out = tmp_path / "agg"
    assert _aggregate(capsys, out, *runs)[0] == 0
    (out / "scores.csv").write_text((out / "scores.csv").read_text()[:-40])
    code, errors = _aggregate(capsys, out, *runs)
    assert code == 2 and errors == [
        f"error: {out}/scores.csv: cut (its last line is unended); nothing says which runs it "
        "scored: restore it (git checkout), or move the folder away to aggregate anew"]


def test_a_folder_is_written_whole_or_not_at_all(tmp_path):
    target = tmp_path / "agg"
    target.mkdir()
    (target / "scores.csv").write_text("old\n")
    (target / "manifest.json").write_text("{}\n")
    os.utime(target / "manifest.json", ns=(1, 10**18))

    def interrupted(folder: Path) -> None:
        (folder / "scores.csv").write_text("new\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_folder(target, interrupted, keep=lambda name: True)
    assert _bytes(target) == {"manifest.json": b"{}\n", "scores.csv": b"old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agg"]  # no temporary folder left
    # A killed writer's temporary folder is removed at the next write; the files the new
    # folder does not hold are carried over where ``keep`` says, with their times.
    (tmp_path / ".agg.killed.tmp").mkdir()
    atomic_write_folder(target, lambda folder: (folder / "scores.csv").write_text("new\n"),
                        keep=lambda name: name == "manifest.json")
    assert _bytes(target) == {"manifest.json": b"{}\n", "scores.csv": b"new\n"}
    assert (target / "manifest.json").stat().st_mtime_ns == 10**18
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agg"]
    # Killed between the two renames of a system without an atomic exchange: the old folder
    # is put back before anything else.
    os.replace(target, tmp_path / ".agg.x.old.tmp")
    atomic_write_folder(target, lambda folder: (folder / "other").write_text("x"))
    assert _bytes(target) == {"other": b"x"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agg"]


def test_plot_replaces_its_folder_whole_and_only_keeps_the_others(runs, tmp_path, capsys):
    agg, figures = tmp_path / "agg", tmp_path / "figures"
    assert _aggregate(capsys, agg, *runs)[0] == 0
    figures.mkdir()
    (figures / "old.png").write_text("a figure no longer drawn")
    assert _main(["plot", agg, "--only", "learning_curves", "--out", figures], capsys)[0] == 0
    assert sorted(p.name for p in figures.iterdir()) == [
        "learning_curves.pdf", "learning_curves.png", "old.png"]
    assert _main(["plot", agg, "--out", figures], capsys)[0] == 0
    assert "old.png" not in {p.name for p in figures.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agg", "figures"]


# --- make stage-results (python -m algos stage) ------------------------------------------------

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(runs, tmp_path) -> Path:
    """A git repository holding committed evidence: a finished run, the Breakout expert (as
    committed: unsealed), a dataset description, an aggregate and a figure."""
    repo = tmp_path / "repo"
    run = repo / "results" / "runs" / "breakout" / "dqn" / "default" / "seed0"
    shutil.copytree(runs[0], run, ignore=shutil.ignore_patterns("checkpoint", ".lock"))
    shutil.copytree(EXPERTS / "breakout", repo / "results" / "experts" / "breakout")
    (repo / "results" / "datasets" / "breakout").mkdir(parents=True)
    shutil.copy(ROOT / "results" / "datasets" / "breakout" / "n30000.json",
                repo / "results" / "datasets" / "breakout")
    assert main(["aggregate", str(run), "--experts", str(repo / "results" / "experts"),
                 "--reps", "50", "--out", str(repo / "results" / "aggregate" / "kept")]) == 0
    (repo / "figures" / "kept").mkdir(parents=True)
    (repo / "figures" / "kept" / "learning_curves.png").write_bytes(b"a figure")
    shutil.copy(ROOT / ".gitignore", repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "evidence")
    return repo


def _stage(repo: Path) -> subprocess.CompletedProcess:
    return cli("stage", str(repo))


def test_staging_counts_what_it_stages_and_leaves_out_what_is_not_evidence(repo, runs):
    result = _stage(repo)
    assert result.returncode == 0 and result.stdout == \
        "staged files: 0 (0 added, 0 modified, 0 deleted)\n", result.stderr
    run = repo / "results" / "runs" / "breakout" / "dqn" / "default" / "seed1"
    shutil.copytree(runs[1], run)  # with its checkpoint, which is not staged
    unfinished = repo / "results" / "runs" / "breakout" / "dqn" / "default" / "seed2"
    unfinished.mkdir()
    (unfinished / "config.json").write_text("{}")
    result = _stage(repo)
    assert result.returncode == 0 and result.stdout == \
        "staged files: 5 (5 added, 0 modified, 0 deleted)\n", result.stderr
    assert sorted(git(repo, "diff", "--cached", "--name-only").split()) == [
        f"results/runs/breakout/dqn/default/seed1/{name}" for name in
        ("config.json", "diagnostics.csv", "metrics.csv", "run.json", "summary.json")]


def test_staging_never_stages_a_deletion(repo):
    (repo / "figures" / "kept" / "learning_curves.png").unlink()
    (repo / "results" / "aggregate" / "kept" / "cells.csv").unlink()
    result = _stage(repo)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"error: {repo / 'figures/kept/learning_curves.png'}: deleted (and 1 more committed "
        "files); stage-results never stages a deletion: restore it (git checkout -- PATH), or "
        "remove it yourself (git rm) if it is meant to go. Nothing staged"]
    assert git(repo, "diff", "--cached", "--name-only") == ""
    # Removed by hand, it is counted with what the next commit changes.
    git(repo, "rm", "-q", "figures/kept/learning_curves.png")
    git(repo, "checkout", "--", "results/aggregate/kept/cells.csv")
    result = _stage(repo)
    assert result.returncode == 0 and result.stdout == \
        "staged files: 1 (0 added, 0 modified, 1 deleted)\n", result.stderr


def test_staging_takes_a_run_set_aside_as_a_move(repo):
    """The train command moves a stale run under results/stale/ (docs/runs.md): its old
    files' deletions are staged with their new place."""
    run = repo / "results" / "runs" / "breakout" / "dqn" / "default" / "seed0"
    aside = repo / "results" / "stale" / "breakout" / "dqn" / "default" / "seed0-shared1-dqn0"
    aside.parent.mkdir(parents=True)
    os.replace(run, aside)
    result = _stage(repo)
    assert result.returncode == 0 and result.stdout == \
        "staged files: 10 (5 added, 0 modified, 5 deleted)\n", result.stderr


DAMAGES = [  # (the case, the file, how it is damaged, what the one line says)
    ("a cut metrics.csv", "results/runs/breakout/dqn/default/seed0/metrics.csv",
     lambda text: text[: len(text) // 2],
     "metrics.csv: not the file its run wrote (its checksum differs from the one in "
     "summary.json): cut, edited or swapped"),
    ("a cut aggregate table", "results/aggregate/kept/scores.csv",
     lambda text: text[: len(text) // 2],
     "scores.csv: not the table its aggregate wrote (its checksum differs from the one in "
     "tables.json): cut, edited or swapped"),
    ("an expert's return changed", "results/experts/breakout/expert.json",
     lambda text: text.replace('"return_mean": 6.69', '"return_mean": 9.69', 1),
     "expert.json: no seal (sealed_sha256), and not a file the repository shipped before "
     "seals"),
    ("a dataset description changed", "results/datasets/breakout/n30000.json",
     lambda text: text.replace('"epsilon": 0.01', '"epsilon": 0.02', 1),
     "n30000.json: no seal (sealed_sha256), and not a file the repository shipped before "
     "seals"),
]


@pytest.mark.parametrize(("path", "damage", "message"), [case[1:] for case in DAMAGES],
                         ids=[case[0] for case in DAMAGES])
def test_staging_refuses_what_does_not_read_back(repo, path, damage, message):
    file = repo / path
    damaged = damage(file.read_text())
    assert damaged != file.read_text()
    file.write_text(damaged)
    result = _stage(repo)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {repo / path.rsplit('/', 1)[0]}/{message}"
                                          f"{result.stderr.split(message, 1)[1].rstrip()}"]
    assert result.stderr.rstrip().endswith("Nothing staged")
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_plot_on_a_full_disk_is_one_line_naming_its_folder_and_leaves_it_whole(tmp_path):
    """matplotlib's savefig meets the file-size limit (as a full disk) without naming a file:
    the line names the folder being written; the old figures stay, no temporary is left."""
    out = tmp_path / "figures"
    out.mkdir()
    (out / "old.png").write_bytes(b"old")

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    result = subprocess.run([sys.executable, "-m", "algos", "plot",
                             str(ROOT / "results" / "aggregate" / "tau_sensitivity"), "--out",
                             str(out)], cwd=ROOT, capture_output=True, text=True,
                            preexec_fn=small_files, timeout=300,
                            env={**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")})
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1 and lines == [f"error: plot: File too large: {out}"], \
        result.stderr
    assert "Traceback" not in result.stderr
    assert _bytes(out) == {"old.png": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "mpl"]  # matplotlib's
