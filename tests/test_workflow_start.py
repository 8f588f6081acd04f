"""The workflow's start: a bad config key is one line naming it (not the whole schema), and a
second Snakemake on files the first one writes says the first still runs instead of
suggesting --unlock (docs/faults.md, issue 30); a target the config does not plan is one
line."""

import os
import signal
import subprocess
import time

import pytest

from conftest import NO_SLURM_ENV, ROOT, SNAKEMAKE, snakemake

pytestmark = pytest.mark.xdist_group("workflow_start")

TEST_CONFIG = ROOT / ".test" / "config" / "config.yaml"


def test_a_bad_config_key_is_one_line_without_the_schema(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEST_CONFIG.read_text().replace("threads: 1", "threadz: 1", 1))
    result = snakemake("all_figures", "-n", "--configfile", str(bad), cwd=tmp_path, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config: the config's top level: Additional properties are not allowed ('threadz' " \
        "was unexpected)" in output
    assert "Failed validating" not in output and "$schema" not in output


def test_a_non_finite_setting_is_one_line_naming_it(tmp_path):
    """JSON schema's ``number`` takes NaN: the start refuses it as the command line does."""
    bad = tmp_path / "nan.yaml"
    bad.write_text(TEST_CONFIG.read_text().replace("  epsilon: 0.01", "  epsilon: .nan", 1))
    result = snakemake("all_figures", "-n", "--configfile", str(bad), cwd=tmp_path, timeout=300)
    assert result.returncode != 0
    assert "config: dataset.epsilon: expected a finite number, got nan" in \
        result.stdout + result.stderr


def test_a_list_given_on_the_command_line_reads_as_in_the_config_file(tmp_path):
    """Snakemake reads ``--config seeds=[0,1]`` as strings; the start reads it as YAML would."""
    result = snakemake("all_figures", "-n", "--configfile", str(TEST_CONFIG), "--config",
                       "seeds=[0,1]", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "results/runs/breakout/dqn/default/seed1/" in result.stdout + result.stderr


def test_a_run_the_config_does_not_plan_is_one_line_naming_it(tmp_path):
    """A target in a run folder of an unplanned variant: Snakemake's one line, not a traceback
    from the train rule's input function; a planned variant on an unplanned seed names the
    run."""
    variant = snakemake("results/runs/breakout/dqn/no_such_variant/seed0/workflow.done", "-n",
                        "--configfile", str(TEST_CONFIG), cwd=tmp_path, timeout=300)
    output = variant.stdout + variant.stderr
    assert variant.returncode != 0
    assert "No rule to produce results/runs/breakout/dqn/no_such_variant/seed0" in output
    assert "Traceback" not in output
    seed = snakemake("results/runs/breakout/dqn/default/seed7/workflow.done", "-n",
                     "--configfile", str(TEST_CONFIG), cwd=tmp_path, timeout=300)
    assert seed.returncode != 0
    assert "results/runs/breakout/dqn/default/seed7 is no run of the config's experiments" \
        in seed.stdout + seed.stderr


def test_a_second_snakemake_says_the_first_still_runs(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text(TEST_CONFIG.read_text().replace("  steps: 2000\n", "  steps: 500000\n", 1))
    target = ["results/experts/breakout/workflow.done", "--cores", "1", "--configfile",
              str(config)]
    first = subprocess.Popen([*SNAKEMAKE, *target, "--directory", str(tmp_path)], cwd=ROOT,
                             env=NO_SLURM_ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "results" / "experts" / "breakout" / "train").exists():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.2)
        second = snakemake(*target, cwd=tmp_path, timeout=300)
        output = second.stdout + second.stderr
        assert second.returncode != 0
        assert f"another Snakemake (PID {first.pid}) is running in {tmp_path}" in output
        assert "Do not use --unlock while it runs" in output
        assert "can be removed with the --unlock argument" not in output
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the first Snakemake and its job
        first.wait()
    # Killed, it left its lock: now --unlock is the right advice.
    third = snakemake(*target, cwd=tmp_path, timeout=300)
    assert third.returncode != 0
    assert "can be removed with the --unlock argument" in third.stdout + third.stderr
