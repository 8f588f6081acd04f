"""Reproducibility: one seed gives one metrics.csv; a run killed at any moment resumes exactly."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from algos.algorithms import ALGORITHMS
from algos.train import verify
from algos.training.loop import WALL_CLOCK_DIAGNOSTICS
from conftest import (
    ROOT,
    cli,
    csv_without,
    diagnostics_without_wall_clock,
    metrics_without_wall_clock,
    train_args,
)

STEPS = 3000


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(tmp_path):
    runs = [tmp_path / name for name in ("a", "b", "c", "d")]
    # d: as a, but its last two evaluations play 7 episodes instead of 3.
    final = ("--set", "final_eval_episodes=7", "--set", "final_evaluations=2")
    procs = [subprocess.Popen([sys.executable, "-m", "algos",
                               *train_args(run, 2000, seed=seed, extra=extra)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for run, seed, extra in zip(runs, (0, 0, 1, 0), ((), (), (), final), strict=True)]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    a, b, c, d = (metrics_without_wall_clock(run) for run in runs)
    assert len(a) == 3  # evaluations at 0, 1K, 2K
    assert a == b
    assert a != c
    # The diagnostics (mean |TD| per evaluation interval) are reproducible too.
    assert (runs[0] / "diagnostics.csv").read_text() == (runs[1] / "diagnostics.csv").read_text()
    # More evaluation episodes at the end change the evaluations they play, and nothing else.
    assert [row["eval_episodes"] for row in d] == ["3", "7", "7"]
    evaluation = ("eval_return_mean", "eval_return_std", "eval_episodes")
    assert [{k: v for k, v in row.items() if k not in evaluation} for row in d] == \
        [{k: v for k, v in row.items() if k not in evaluation} for row in a]
    assert d[0] == a[0]


def _kill_after_a_checkpoint(out, rng: random.Random, first_step: int, **kwargs) -> None:
    """Start training, wait until it has written a checkpoint past ``first_step``, wait a random
    moment more, SIGKILL it. Raises if the run finished before it could be killed."""
    proc = subprocess.Popen([sys.executable, "-m", "algos",
                             *train_args(out, STEPS, seed=3, **kwargs)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = out / "checkpoint" / "state.pt"
    start = time.monotonic()
    while time.monotonic() - start < 300:
        if checkpoint.exists() and checkpoint.stat().st_mtime > start and \
                len(metrics_without_wall_clock(out)) > first_step // 1000:
            break
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.0))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists(), "the run finished before it was killed"


@pytest.mark.parametrize("algo", ["diiqn", "ha_diiqn", "bco"])
def test_sigkill_and_resume_gives_the_same_metrics_as_an_uninterrupted_run(
        tmp_path, algo, breakout_dataset):
    """DIIQN's checkpoint holds DQN's (networks, optimizer, prioritized replay, the loop's RNGs
    and counters) and its own (inferred actions and their errors, each replay slot's expert
    match, its sampling RNG); HA-DIIQN adds its replay graph; BCO has two networks, two
    optimizers and its RNG. Each must resume exactly."""
    kwargs = {"algo": algo, "dataset": breakout_dataset}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    uninterrupted = subprocess.Popen([sys.executable, "-m", "algos",
                                      *train_args(whole, STEPS, seed=3, **kwargs)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rng = random.Random(os.getpid())
    _kill_after_a_checkpoint(killed, rng, first_step=1000, **kwargs)
    # Killed twice: resumed runs resume.
    _kill_after_a_checkpoint(killed, rng, first_step=2000, **kwargs)
    result = cli(*train_args(killed, STEPS, seed=3, **kwargs), check=True)
    assert "done" in result.stdout
    assert uninterrupted.wait(timeout=600) == 0
    assert metrics_without_wall_clock(killed) == metrics_without_wall_clock(whole)
    # Diagnostics too, except how the index answered (its cache restarts empty).
    speed = (*ALGORITHMS[algo].resume_dependent, *WALL_CLOCK_DIAGNOSTICS)
    assert csv_without(killed / "diagnostics.csv", speed) == \
        csv_without(whole / "diagnostics.csv", speed)
    sessions = __import__("json").loads((killed / "run.json").read_text())["sessions"]
    assert len(sessions) == 3 and sessions[1]["from_step"] > 0
    # verify to the end reproduces the resumed run, every row, and names what it leaves out.
    found = verify(killed, STEPS, progress_every=600)
    assert found.reproduced and found.reach == STEPS, found.differences
    if ALGORITHMS[algo].resume_dependent:
        assert found.left_out.startswith(", ".join(ALGORITHMS[algo].resume_dependent) +
                                         f" after step {sessions[1]['from_step']}")
    else:
        assert found.left_out is None


# Older CPUs, emulated: each library's SIMD dispatch capped below this machine's (where the
# machine has no AVX-512, the first equals the machine itself). torch and MKL keep their AVX2
# kernels (pinned in algos/__init__.py): below AVX2 torch has only scalar ones and MKL its SSE
# ones, which round differently (on an Intel CPU with AVX-512 MKL's SSE4.2 sgemm differs from
# its AVX2 one), so the claim is for CPUs with AVX2; numpy and oneDNN go down to SSE4.
EMULATED_CPUS = {
    "avx2": {"NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL,AVX512_SPR",
             "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "sse4": {"NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",
             "ONEDNN_MAX_CPU_ISA": "SSE41"},
}
SHORT = ["--set", "replay_start=300", "--set", "epsilon_decay_steps=1000",
         "--set", "eval_every=500", "--set", "eval_episodes=3"]


def _under(cpu: str) -> dict:
    return {**os.environ, **EMULATED_CPUS.get(cpu, {})}


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))  # a new algorithm is in by itself
def test_a_run_is_identical_under_emulated_older_cpus(tmp_path, algo, breakout_dataset):
    """A short run of every algorithm, on this machine's dispatch and on each emulated CPU, in
    processes of their own: the same metrics.csv and diagnostics.csv (timings aside). The
    DIIQN family's expert matches, inferred actions and Φ are on this path; HA-DIIQN with
    Breakout's left and right only, so that it bridges."""
    action_set = ["--action-set", "left,right"] if algo == "ha_diiqn" else []
    dataset = ["--dataset", str(breakout_dataset)] if ALGORITHMS[algo].needs_dataset else []
    procs = {}
    for cpu in ("native", *EMULATED_CPUS):
        # 2,000 steps: a float difference between torch's kernels showed first at step 2,000 in
        # an earlier check (docs/performance.md).
        args = ["train", algo, "--game", "breakout", *action_set, "--seed", "4", "--steps",
                "2000", "--out", str(tmp_path / cpu), *dataset, *SHORT]
        procs[cpu] = subprocess.Popen([sys.executable, "-m", "algos", *args], cwd=ROOT,
                                      env=_under(cpu), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
    for cpu, proc in procs.items():
        assert proc.wait(timeout=600) == 0, (cpu, proc.stderr.read())
    native = tmp_path / "native"
    for cpu in EMULATED_CPUS:
        assert metrics_without_wall_clock(tmp_path / cpu) == metrics_without_wall_clock(native)
        assert diagnostics_without_wall_clock(tmp_path / cpu) == \
            diagnostics_without_wall_clock(native), cpu


CONFIDENCE_TERMS = """
import sys
import numpy as np
from algos.agents.diiqn.confidence import confidence, delta_q_term, delta_term, zeta_term
rng = np.random.default_rng(0)
q = rng.normal(size=(2, 1_000_000)).astype(np.float32) * 0.3
dq = delta_q_term(q[0] - q[1], beta=3.0)
d = delta_term(rng.integers(0, 300_000, 1_000_000), c_max=150_000)
z = zeta_term(rng.random(1_000_000) * 0.1, err_max=0.1)
sys.stdout.buffer.write(b"".join(a.tobytes() for a in (dq, d, z, confidence(dq, d, z))))
"""


def test_confidence_terms_are_the_same_bits_under_every_numpy_dispatch():
    """Φ's terms on a million inputs under numpy's AVX-512, AVX2 and baseline loops: float64
    ``exp`` and ``log1p`` differ in the last bit between them (5 % and 2 % of these values),
    so each term is rounded to float32, where those differences vanish."""
    outputs = {cpu: subprocess.run([sys.executable, "-c", CONFIDENCE_TERMS], cwd=ROOT,
                                   env=_under(cpu), capture_output=True, check=True).stdout
               for cpu in ("native", *EMULATED_CPUS)}
    assert len(set(outputs.values())) == 1
    assert len(outputs["native"]) == 4 * 4 * 1_000_000


def test_torch_runs_its_avx2_kernels_and_run_json_says_so(tmp_run):
    cli(*train_args(tmp_run, 400), check=True)
    session = __import__("json").loads((tmp_run / "run.json").read_text())["sessions"][0]
    with open("/proc/cpuinfo") as f:
        has_avx2 = " avx2" in f.read()
    assert session["torch_cpu_capability"] == ("AVX2" if has_avx2 else "DEFAULT")
    assert session["torch_threads"] == 1
    assert session["mkl_branch"] == ("pinned" if has_avx2 else "not pinned: the CPU has no AVX2")


SGEMM = """
import sys
import algos
import torch
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
a, b = torch.randn(32, 1024, generator=g), torch.randn(1024, 128, generator=g)
sys.stdout.buffer.write((a @ b).numpy().tobytes())
"""


def test_mkl_honours_its_pinned_branch_on_this_cpu():
    """MKL's SSE4.2 and AVX2 branches round a 1024-long dot product differently (fused
    multiply-adds or not), so different bits show that the branch asked for is the one run. On a
    CPU not made by Intel MKL ignores the branch unless algos/provenance/mkl_vendor.py's library is
    loaded: without it an AMD EPYC gave the same bits for every branch, and runs of its own."""
    with open("/proc/cpuinfo") as f:
        if " avx2" not in f.read():
            pytest.skip("MKL's AVX2 branch needs a CPU with AVX2")
    outputs = {branch: subprocess.run([sys.executable, "-c", SGEMM], cwd=ROOT, check=True,
                                      env={**os.environ, "MKL_CBWR": branch},
                                      capture_output=True).stdout
               for branch in ("SSE4_2", "AVX2")}
    assert len(outputs["AVX2"]) == 32 * 128 * 4
    assert outputs["SSE4_2"] != outputs["AVX2"]


def test_the_mkl_vendor_library_builds_and_answers_intel(tmp_path):
    import ctypes

    from algos.provenance import mkl_vendor

    library = mkl_vendor.build(tmp_path / "lib.so")
    assert ctypes.CDLL(str(library)).mkl_serv_intel_cpu_true() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["lib.so"]  # nothing staged is left
