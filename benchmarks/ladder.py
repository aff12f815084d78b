"""The GEMM speed-up ladder: naive → loop order → blocked → packed → vectorized → threaded, measured.

    OMP_WAIT_POLICY=passive python -m benchmarks.ladder [--quick]    (prints the table)
    make bench ONLY=ladder                     (the `ladder` section of the report)

Steps 1–5 are small teaching implementations of C = A @ B (float32) in ``benchmarks/ladder/``
(a source directory, not a package): they live in the benchmark so that minigrad's runtime kernels
carry no slow variants. ``build()`` compiles them on first use with the venv's Cython and the
compiler Python was built with, in a subprocess, into ``build/ladder/`` (git-ignored, removed by
`make clean`); each module's build is cached under a key of its sources, flags and tool versions.
Steps 6–7 are minigrad's production kernel (``minigrad._ops.gemm``, ``_ops/gemm_kernel.pxi``) on 1
and 2 threads, and numpy's OpenBLAS on 1 and 2 threads is the yardstick.

Every step is checked against a float64 product before it is timed. Timing is
:func:`benchmarks.harness.compare`: all candidates of a case interleaved, order rotated per
repetition; speed-ups are paired ratios (both times from the same rotation), so a slow phase of
the shared machine hits every step alike. Steps 1–6 run on one thread.
"""
import argparse
import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

import minigrad._ops as ops
from minigrad._ops import toolchain
from minigrad._ops.cpu import cpu_features

try:
    from . import harness
except ImportError:  # run as a file
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks import harness

SOURCE_DIR = Path(__file__).resolve().parent / "ladder"
BUILD_DIR = Path(__file__).resolve().parents[1] / "build" / "ladder"
# The ISA goes in the flags only (setup.py's, from the one compiler probe, minigrad/_ops/toolchain.py);
# the tile and blocking constants are in each module's source.
FLAGS = {"_gemm_ladder": [], "_gemm_ladder_avx2": list(toolchain.ISA_FLAGS["_avx2"])}

# (label, module, function or None for the production kernel, threads, what the step adds)
STEPS = [
    ("1. naive i-j-k", "_gemm_ladder", "matmul_naive", 1,
     "textbook loop; inner loop strides down a column of B"),
    ("2. loop order i-k-j", "_gemm_ladder", "matmul_ikj", 1,
     "inner loop contiguous in B and C, vectorized (SSE2)"),
    ("3. cache-blocked", "_gemm_ladder", "matmul_blocked", 1,
     "32 x 512 blocks of B reused from L2"),
    ("4. packed + 4x8 micro-kernel, SSE2", "_gemm_ladder", "matmul_packed", 1,
     "packed panels, accumulators in registers"),
    ("5. same, AVX2 + FMA, 6x16 tile", "_gemm_ladder_avx2", "matmul_packed", 1,
     "8-wide vectors, fused multiply-add"),
    ("6. minigrad gemm, 1 thread", None, None, 1,
     "k unrolled x4, prefetch, in-place A, tuned blocks"),
    ("7. minigrad gemm, 2 threads", None, None, 2, "OpenMP over rows of C"),
]
NUMPY = [("numpy (OpenBLAS), 1 thread", 1), ("numpy (OpenBLAS), 2 threads", 2)]

# (label, M, K, N); quick mode times only the first. Step 1 at 512³ takes ~0.5 s a call on Zen 3: a timed
# block is then one call, and GFLOP/s keeps the rows of both sizes comparable.
CASES = [("100×784×100", 100, 784, 100), ("512×512×512", 512, 512, 512)]
QUICK_CASES = CASES[:1]


# ---------------------------------------------------------------- building steps 1–5

def _build_key(name):
    """Hash of everything a cached build of ``name`` depends on."""
    import Cython

    h = hashlib.sha256()
    for path in sorted(SOURCE_DIR.glob("*.p*")):
        h.update(path.name.encode() + path.read_bytes())
    h.update(json.dumps([name, _compile_args(name), sys.version, Cython.__version__,
                         toolchain.compiler(), platform.machine()]).encode())
    return h.hexdigest()[:16]


def _compile_args(name):
    # The AVX2 step gets the production kernels' cap on GCC's loop peeling (toolchain.tile_flags: on
    # the 6 x 16 tile, full unrolling leaves scalar code with spills). The SSE2 module does without:
    # there it made steps 3 and 4 slower.
    return ["-O3"] + FLAGS[name] + (list(toolchain.tile_flags()) if name.endswith("_avx2") else [])


# Run in a fresh interpreter, so setuptools' global state and output stay out of the caller.
_BUILD_SCRIPT = """
import json, sys
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
name, source, args, out, tmp = json.loads(sys.argv[1])
ext = Extension(name, [source], include_dirs=[np.get_include()], extra_compile_args=args,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
directives = dict(language_level=3, boundscheck=False, wraparound=False, cdivision=True,
                  initializedcheck=False)
setup(ext_modules=cythonize([ext], compiler_directives=directives, build_dir=tmp, quiet=True),
      script_args=["-q", "build_ext", "--build-lib", out, "--build-temp", tmp])
"""

_loaded = {}


def build(names, build_dir=BUILD_DIR):
    """{name: module} for the ladder modules ``names``: compiled (in parallel, one subprocess each)
    unless a cached build with the same key exists in ``build_dir``, then imported from there."""
    build_dir = Path(build_dir)
    libs, procs = {}, {}
    with tempfile.TemporaryDirectory(dir=_mkdir(build_dir), prefix="tmp-") as tmp:
        for name in names:
            out = build_dir / f"{name}-{_build_key(name)}"
            libs[name] = out / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
            if not libs[name].exists():
                args = [name, str(SOURCE_DIR / f"{name}.pyx"), _compile_args(name),
                        os.path.join(tmp, name, "out"), os.path.join(tmp, name, "c")]
                procs[name] = subprocess.Popen([sys.executable, "-c", _BUILD_SCRIPT, json.dumps(args)],
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, proc in procs.items():
            stdout, stderr = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"building {name} failed:\n{stdout[-2000:]}{stderr[-4000:]}")
            try:  # built beside the cache entry, then renamed: no one ever sees half a build
                os.rename(os.path.join(tmp, name, "out"), libs[name].parent)
            except OSError:  # another process finished the same build first: use its copy
                if not libs[name].exists():
                    raise
            for stale in build_dir.glob(f"{name}-*"):  # builds of older sources or tools
                if stale != libs[name].parent:
                    shutil.rmtree(stale, ignore_errors=True)
    modules = {}
    for name, lib in libs.items():
        if lib not in _loaded:
            spec = importlib.util.spec_from_file_location(name, lib)
            _loaded[lib] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(_loaded[lib])
        modules[name] = _loaded[lib]
    return modules


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def steps(build_dir=BUILD_DIR):
    """[(label, fn(a, b, c), threads, note)] for this CPU: fn writes a @ b into c. Step 5 is left
    out on a CPU without AVX2 + FMA (its module is then neither built nor loaded: it would die
    with SIGILL)."""
    wanted = [m for m in FLAGS if not m.endswith("_avx2") or "avx2" in cpu_features()]
    modules = build(wanted, build_dir)
    out = []
    for label, module, func, threads, note in STEPS:
        if module is None:
            out.append((label, _production, threads, note))
        elif module in modules:
            out.append((label, getattr(modules[module], func), threads, note))
    return out


def _production(a, b, c):
    ops.gemm(a, b, out=c)


def _numpy(a, b, c):
    np.matmul(a, b, out=c)


def check(fn, a, b, c):
    """Run one step into c and assert it matches a float64 product (before it is ever timed)."""
    c.fill(np.nan)
    fn(a, b, c)
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-5 * max(a.shape[1], 1),
                               err_msg=f"{getattr(fn, '__name__', fn)} is wrong on {a.shape} @ {b.shape}")


# ---------------------------------------------------------------- timing

def _fmt_x(ratio):
    if ratio is None:
        return ""
    return f"{ratio['median']:.2f}× ({ratio['q1']:.2f}–{ratio['q3']:.2f})"


def case_rows(label, M, K, N, rng, build_dir=BUILD_DIR):
    """Check, then time every step and numpy on one M x K x N product: one row per candidate."""
    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((K, N), dtype=np.float32)
    cands, meta = {}, {}
    for name, fn, threads, note in steps(build_dir) + [(n, _numpy, t, "yardstick") for n, t in NUMPY]:
        c = np.empty((M, N), np.float32)
        with harness.use_threads(threads):  # checked as it will be timed
            check(fn, a, b, c)

        def call(fn=fn, c=c):
            fn(a, b, c)
        # Each candidate gets its thread count for its timed blocks; compare() itself runs at 1.
        cands[name] = harness.Candidate(call, context=lambda t=threads: harness.use_threads(t))
        meta[name] = (threads, note)
    res = harness.compare(cands, threads=1, baseline=STEPS[0][0])
    flops = 2.0 * M * K * N
    rows, prev = [], None
    for name, (threads, note) in meta.items():
        stats = res["candidates"][name]
        numpy_name = NUMPY[threads - 1][0]
        yard = name.startswith("numpy")
        rows.append({
            "case": label, "step": name, "threads": threads, "adds": note,
            "GFLOP/s": f"{flops / stats['median'] / 1e9:.2f}" if "median" in stats else stats.get("error"),
            "× previous step": "" if yard or prev is None else _fmt_x(harness.paired_ratio(res, prev, name)),
            "× step 1": "" if name == STEPS[0][0] else _fmt_x(harness.paired_ratio(res, STEPS[0][0], name)),
            "speed / numpy, same threads": "" if yard else _fmt_x(harness.paired_ratio(res, numpy_name, name)),
            "timing": dict(stats),
        })
        prev = None if yard else name
    return rows


def run(quick=False, build_dir=BUILD_DIR):
    """One row per (case, step) for the `make bench` report (a plain table: the ladder has no torch
    column). Speed-ups are medians over repetitions of paired time ratios, quartiles in parentheses."""
    rng = np.random.default_rng(0)
    rows = []
    with ops.use_backend("compiled"):
        for label, M, K, N in (QUICK_CASES if quick else CASES):
            rows += case_rows(label, M, K, N, rng, build_dir)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small case, fewer repetitions")
    args = parser.parse_args(argv)
    harness.configure(quick=args.quick)
    keys = ["case", "step", "GFLOP/s", "× previous step", "× step 1", "speed / numpy, same threads"]
    print(" | ".join(keys))
    for r in run(args.quick):
        print(" | ".join(str(r[k]) for k in keys))


if __name__ == "__main__":
    main()
