"""Deep implicit imitation reinforcement learning (DIIQN, HA-DIIQN) and baselines on MinAtar.

The packages follow the data flow, bottom up: ``errors``, ``config`` (``--set``), ``seeds`` and
``algorithms`` (every algorithm's settings and the registry, without torch) at the bottom;
``envs`` (MinAtar and the mazes); ``provenance`` (run folders, seals, read-back checks, MKL's
pin); ``training`` (networks, replay, the one Double-DQN update, acting, checkpoints, the one
loop); ``data`` (experts and their state-only datasets); ``agents`` (one module per method,
DIIQN's parts in ``agents.diiqn``); ``evidence`` (a config's experiments to aggregates,
statistics, claims, tables and figures), which never imports ``training`` or ``agents``; and
``cli`` (``python -m algos``) on top.
"""

import os
import sys

__version__ = "0.1.0"


def _cpu_has_avx2() -> bool:
    from algos.provenance.mkl_vendor import cpuinfo_field

    return "avx2" in (cpuinfo_field("flags") or "").split()


# torch chooses its vectorised kernels by CPU (AVX-512 where present). A kernel handles two
# vectors per iteration and a tensor's remainder with scalar code, so whether an element of a
# short tensor goes through the vector or the scalar exp depends on the vector width, and the
# two round differently: the same run came out differently on AVX2 and AVX-512 machines. Every
# AVX-512 CPU has AVX2, so pinning torch to its AVX2 kernels gives one result on both; it must
# be set before torch first dispatches (docs/performance.md, "Same results on every CPU").
# MKL, which torch's CPU build calls for its matrix products, chooses its kernels by CPU too:
# on an AVX-512 Intel CPU its AVX-512 sgemm rounds otherwise than its AVX2 one, and a run's loss
# differed from the second evaluation on. MKL's conditional numerical reproducibility (CBWR)
# pinned to AVX2 gives one result on every CPU with AVX2, as torch's pin does, once MKL is told
# to honour it on CPUs not made by Intel (algos/provenance/mkl_vendor.py): on an AMD EPYC
# with AVX-512 it ignored the pin and a run differed from the first evaluation on.
MKL_BRANCH = "not pinned: the CPU has no AVX2"
"""Whether MKL's kernels are pinned (``"pinned"``), or why not; recorded in each run.json."""
if _cpu_has_avx2():
    if "ATEN_CPU_CAPABILITY" not in os.environ:
        os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
    if "MKL_CBWR" not in os.environ:
        os.environ["MKL_CBWR"] = "AVX2"
    from algos.provenance import mkl_vendor

    MKL_BRANCH = mkl_vendor.load()
    if MKL_BRANCH != "pinned":
        print(f"warning: MKL's kernels are not pinned ({MKL_BRANCH}): results on this CPU may "
              "differ from other CPUs' (docs/performance.md, 'Same results on every CPU')",
              file=sys.stderr)
