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
