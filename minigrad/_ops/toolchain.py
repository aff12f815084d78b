"""The C compiler and the flags it takes: the one probe behind every build of C code in the project.

``setup.py`` builds the kernels with it (it loads this file by path, before the package exists, so
this module imports nothing but the standard library), ``benchmarks/ladder.py`` builds the GEMM
ladder's teaching steps and ``benchmarks/harness/machine.py`` its FMA-peak probe. What the running
CPU can execute is another question, answered at run time by ``_ops.cpu_features()``.
"""
import functools
import os
import platform
import subprocess
import sysconfig
import tempfile

# x86 vector flags per file-name suffix of an ISA build (``gemm_avx2.pyx``); "_generic" is the
# baseline twin (same source, the compiler's default target).
ISA_FLAGS = {
    "_generic": (),
    "_avx2": ("-mavx2", "-mfma"),
    "_avx512": ("-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma"),
}
IS_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")

_MAIN = "int main(void){return 0;}\n"
_GCC = "#if !defined(__GNUC__) || defined(__clang__)\n#error not GCC\n#endif\n" + _MAIN
_OPENMP = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"


def compiler():
    """$CC, else the compiler Python was built with, else ``cc``."""
    built_with = (sysconfig.get_config_var("CC") or "").split()
    return os.environ.get("CC") or (built_with[0] if built_with else "cc")


@functools.lru_cache(maxsize=None)
def compiles(flags=(), source=_MAIN):
    """True if ``source`` (a trivial program by default) compiles and links with ``flags``."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        try:
            cmd = [compiler(), src, "-o", os.path.join(tmp, "probe"), *flags]
            return subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            return False


def isa_flags(suffix):
    """The flags of ISA build ``suffix`` ("_avx2"), or None if this compiler cannot target it."""
    flags = ISA_FLAGS[suffix]
    return flags if not flags or (IS_X86 and compiles(flags)) else None


def tile_flags():
    """GCC fully unrolls ("peels") loops of up to 16 iterations before vectorizing; on the register
    tiles of the ISA kernels (e.g. 6 x 16 GEMM accumulators) that leaves scalar code packed into
    128-bit ops with stack spills. Capping it at 8 lets the loop vectorizer take the 16-column rows
    (full-width FMAs, no spills). GCC only: other compilers reject the option."""
    return ("--param=max-completely-peel-times=8",) if compiles((), _GCC) else ()


def openmp_flags():
    """``-fopenmp`` if the compiler builds and links an OpenMP program, else nothing."""
    return ("-fopenmp",) if compiles(("-fopenmp",), _OPENMP) else ()


def optional_flags(*flags):
    """Those of ``flags`` the compiler accepts (each tried on its own)."""
    return tuple(f for f in flags if compiles((f,)))
