"""Let MKL's numerical-reproducibility pin (``MKL_CBWR``) hold on CPUs not made by Intel.

MKL honours ``MKL_CBWR`` (and ``MKL_ENABLE_INSTRUCTIONS``) only where its vendor check, the
function ``mkl_serv_intel_cpu_true``, says the CPU is Intel's; elsewhere it takes a path of its
own. On an AMD EPYC with AVX-512 that path's sgemm rounds otherwise than the AVX2 one every
Intel CPU is pinned to, so a run differed from the first evaluation on (docs/performance.md,
"Same results on every CPU"). torch's CPU build links MKL into ``libtorch_cpu.so`` and exports
that function; a library of our own that defines it, loaded into the global symbol scope before
torch, takes its place, and MKL then runs its AVX2 kernels (which every CPU with AVX2 executes)
as on Intel's CPUs.

The library is built from the one-line C source below by ``make install``, or here on first use,
with the system's C compiler. Only the standard library is imported: this runs before torch.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = "int mkl_serv_intel_cpu_true(void) { return 1; }\n"
BRANCH = "not pinned: pin() was not called"
"""Whether MKL's kernels are pinned (``"pinned"``), or why not; recorded in each run.json."""
LIBRARY = Path(__file__).resolve().parent / "_mkl_intel_cpu.so"


def cpuinfo_field(name: str) -> str | None:
    """The value of the first ``name`` line of /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_vendor() -> str | None:
    """The CPU's vendor id (``GenuineIntel``, ``AuthenticAMD``, ...)."""
    return cpuinfo_field("vendor_id")


def build(library: Path = LIBRARY) -> Path:
    """Compile the library to ``library`` (atomically: concurrent builders each write their own
    file and rename it into place). Raises ``OSError`` or ``CalledProcessError`` on failure."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise OSError("no C compiler (cc or gcc) on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "mkl_intel_cpu.c"
        source.write_text(SOURCE)
        built = Path(tmp) / library.name
        subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(built), str(source)],
                       check=True, capture_output=True, timeout=120)
        staged = library.with_name(f".{library.name}.{os.getpid()}.tmp")
        shutil.copyfile(built, staged)
        os.replace(staged, library)
    return library


def pin() -> str:
    """Pin torch's and MKL's kernels to AVX2 where the CPU has it; sets and returns ``BRANCH``.
    Called once by ``algos/__init__.py``, before torch is imported.

    torch chooses its vectorised kernels by CPU (AVX-512 where present). A kernel handles two
    vectors per iteration and a tensor's remainder with scalar code, so whether an element of a
    short tensor goes through the vector or the scalar exp depends on the vector width, and the
    two round differently: the same run came out differently on AVX2 and AVX-512 machines. Every
    AVX-512 CPU has AVX2, so pinning torch to its AVX2 kernels gives one result on both; it must
    be set before torch first dispatches (docs/performance.md, "Same results on every CPU").
    MKL, which torch's CPU build calls for its matrix products, chooses its kernels by CPU too:
    on an AVX-512 Intel CPU its AVX-512 sgemm rounds otherwise than its AVX2 one. MKL's
    conditional numerical reproducibility (CBWR) pinned to AVX2 gives one result on every CPU
    with AVX2, once MKL is told to honour it on CPUs not made by Intel (``load``).
    """
    global BRANCH
    if "avx2" not in (cpuinfo_field("flags") or "").split():
        BRANCH = "not pinned: the CPU has no AVX2"
        return BRANCH
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
    os.environ.setdefault("MKL_CBWR", "AVX2")
    BRANCH = load()
    if BRANCH != "pinned":
        print(f"warning: MKL's kernels are not pinned ({BRANCH}): results on this CPU may "
              "differ from other CPUs' (docs/performance.md, 'Same results on every CPU')",
              file=sys.stderr)
    return BRANCH


def load() -> str:
    """Make MKL treat this CPU as Intel's, if it is not. Returns what MKL's branch is:
    ``"pinned"`` (an Intel CPU, or the library loaded), or why not."""
    if cpu_vendor() in (None, "GenuineIntel"):
        return "pinned"
    if "torch" in sys.modules:
        return "vendor's own: torch was imported before algos"
    try:
        library = LIBRARY if LIBRARY.exists() else build()
        ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    except (OSError, subprocess.SubprocessError) as error:
        return f"vendor's own: {LIBRARY.name} could not be built or loaded ({error})"
    return "pinned"
