"""`python -m benchmarks.ab REF [--quick] [--only ROWS]`: the working tree against git ref REF, in one process.

For a change whose cost must be measured on a shared, noisy machine: REF's ``minigrad/`` is
extracted (``git archive``) into a temporary directory as the package ``minigrad_ref`` and imported
beside the working tree's ``minigrad``. Its compiled kernels are the working tree's build when REF's
kernel sources (``KERNEL_SOURCES``) are the same, so a change to Python code (the engine, an op's
bookkeeping) is compared on the same machine code; when they differ (or with ``--build``), REF's
own setup.py builds REF's kernels, as a normal build (no debug flags), from a ``git archive`` of
REF, cached in ``build/ab/`` by the git ids of those sources (a few minutes the first time). Each row
of the chosen groups (``--only``, default ``overhead,train,infer``) is then timed by
``harness.compare({"ref": ..., "work": ...})``: interleaved, order rotated each repetition, ratio
paired by repetition. Prints, per row, both medians, the paired ratio work / ref (median and
quartiles) and the ratio of the fastest repetitions, which on a loaded machine is the steadier
figure (a block slowed by a neighbour only ever adds time).

Row groups: ``overhead`` (the overhead section's tiny ops, 1 thread), ``train`` (the MLP and
SimpleConvNet train steps, 2 threads), ``infer`` (MLP inference as built and BN folded, 2 threads),
``gemm`` (the gemm section's products, ``_ops.gemm`` alone, 1 thread) and ``conv`` (the conv
section's cases, forward + backward through autograd, 2 threads). ``--threads`` overrides them all.
"""
import argparse
import fnmatch
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

from . import conv, gemm, harness, inference, overhead, train_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_DIR = os.path.join(REPO, "build", "ab")
# What the compiled kernels are built from.
KERNEL_SOURCES = ["setup.py", "minigrad/_ops/toolchain.py", "minigrad/_ops/*.pyx", "minigrad/_ops/*.pxi",
                  "minigrad/_ops/*.pxd"]
GROUPS = ("overhead", "train", "infer", "gemm", "conv")
DEFAULT_GROUPS = ("overhead", "train", "infer")


def _git(*args, check=True, **kwargs):
    return subprocess.run(["git", "-C", REPO, *args], check=check, **kwargs)


def kernels_differ(ref):
    """Whether REF's kernel sources differ from the working tree's."""
    return _git("diff", "--quiet", ref, "--", *KERNEL_SOURCES, check=False).returncode != 0


def _extract(ref, dest, *paths):
    archive = os.path.join(dest, "ref.tar")
    _git("archive", "-o", archive, ref, *paths)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    os.remove(archive)


def _build_key(ref, only):
    """Hash of REF's kernel sources (their git blob ids) and of the tools that compile them."""
    import Cython

    listing = _git("ls-tree", "-r", ref, "--", "setup.py", "minigrad/_ops", capture_output=True,
                   text=True).stdout.splitlines()
    blobs = sorted(line for line in listing
                   if any(fnmatch.fnmatch(line.split("\t", 1)[1], pat) for pat in KERNEL_SOURCES))
    return hashlib.sha256(json.dumps([blobs, only, sys.version, np.__version__, Cython.__version__,
                                      os.environ.get("MINIGRAD_OPENMP", "1")]).encode()).hexdigest()[:16]


def build_ref_kernels(ref, only=None, build_dir=BUILD_DIR):
    """The folder holding REF's compiled kernels (the ``.so`` files and ``_build_info.py``), built by
    REF's setup.py from a ``git archive`` of REF, unless a build of the same sources is cached in
    ``build_dir``. ``only``: build just ``_ops/<only>.pyx`` (a glob; MINIGRAD_BUILD_ONLY)."""
    out = os.path.join(build_dir, _build_key(ref, only))
    if os.path.isdir(out):
        return out
    os.makedirs(build_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_dir, prefix="tmp-") as tmp:
        _extract(ref, tmp, "setup.py", "minigrad")
        env = {k: v for k, v in os.environ.items() if k not in ("MINIGRAD_CYTHON_DEBUG", "MINIGRAD_BUILD_ONLY")}
        if only:
            env["MINIGRAD_BUILD_ONLY"] = only
        print(f"building the kernels of {ref} into {out} ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tmp, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"building the kernels of {ref} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
        ops_dir, lib = os.path.join(tmp, "minigrad", "_ops"), os.path.join(tmp, "lib")
        os.mkdir(lib)
        for name in os.listdir(ops_dir):
            if name.endswith((".so", ".pyd")) or name == "_build_info.py":
                os.rename(os.path.join(ops_dir, name), os.path.join(lib, name))
        try:  # built beside the cache entry, then renamed: no one ever sees half a build
            os.rename(lib, out)
        except OSError:  # another process finished the same build first: use its copy
            if not os.path.isdir(out):
                raise
    return out


def _work_kernels():
    """Paths of the working tree's built kernels."""
    built = _git("ls-files", "--others", "--ignored", "--exclude-standard", "minigrad/_ops",
                 capture_output=True, text=True).stdout.split()
    return [os.path.join(REPO, p) for p in built if p.endswith((".so", ".pyd", "_build_info.py"))]


def load_ref(ref, tmp, build=None, only=None, build_dir=BUILD_DIR):
    """Import REF's minigrad as ``minigrad_ref``, with the working tree's compiled kernels when
    REF's kernel sources are the same, else (or with ``build``) with REF's own
    (:func:`build_ref_kernels`). With ``only``, just those kernels are REF's and the working tree's
    build supplies the rest (a mixed package: for the test, which cannot afford a full build)."""
    if build is None:
        build = kernels_differ(ref)
    _extract(ref, tmp, "minigrad")
    dest = os.path.join(tmp, "minigrad_ref")
    os.rename(os.path.join(tmp, "minigrad"), dest)
    ops_dir = os.path.join(dest, "_ops")
    built = build_ref_kernels(ref, only, build_dir) if build else None
    paths = [os.path.join(built, name) for name in os.listdir(built)] if built else []
    if not build or only:
        paths += _work_kernels()
    for path in paths:
        target = os.path.join(ops_dir, os.path.basename(path))
        if not os.path.exists(target):  # REF's own build first
            shutil.copy(path, target)
    sys.path.insert(0, tmp)
    return importlib.import_module("minigrad_ref")


def _lib(mod):
    """train_step.Lib for an already imported package (Lib itself imports ``minigrad`` by name)."""
    lib = train_step.Lib.__new__(train_step.Lib)
    lib.name, lib.mod, lib.nn, lib.optim, lib.F = "minigrad", mod, mod.nn, mod.optim, mod.nn.functional
    return lib


def rows(mods, groups=DEFAULT_GROUPS):
    """(label, threads, {name: step function}) for each row of ``groups``, for every package in ``mods``."""
    if "overhead" in groups:
        for _, label, make in overhead.CASES:
            yield label, 1, {name: make(mod) for name, mod in mods.items()}
    for key in ("mlp", "cnn") if "train" in groups else ():
        label, _, shape = train_step.MODELS[key][:3]
        x, t = train_step.inputs(shape)
        steps = {}
        for name, mod in mods.items():
            lib = _lib(mod)
            mod.manual_seed(0)
            model, opt = train_step.build(lib, key)
            steps[name] = train_step.train_step(lib, model, opt, lib.tensor(x), lib.tensor(t))
        yield "train " + label, 2, steps
    # the MLP's inference rows (the demo CNN is built by examples/demo.py, which imports minigrad itself)
    for fused in (False, True) if "infer" in groups else ():
        steps = {}
        for name, mod in mods.items():
            mod.manual_seed(0)
            steps[name] = inference.infer_fn(_lib(mod), "mlp", fused)
        yield "infer (a) MLP" + (", BN folded" if fused else ""), 2, steps
    rng = np.random.default_rng(0)
    for label, dtype, M, K, N, layout in gemm.CASES if "gemm" in groups else ():
        a, b = gemm._operands(dtype, M, K, N, layout, rng)
        yield f"gemm {label}", 1, {name: _gemm(mod, a, b) for name, mod in mods.items()}
    for case, N, Cin, H, W, Cout, k, s, p in conv.CONV_CASES if "conv" in groups else ():
        arrays, g = conv.case_arrays(rng, N, Cin, H, W, Cout, k, s, p)
        yield f"conv ({case}) fwd+bwd", conv.THREADS, {name: harness.fwd_bwd(mod, _conv2d(mod, s, p), arrays, g)
                                                       for name, mod in mods.items()}


def _gemm(mod, a, b):
    return lambda: mod._ops.gemm(a, b)


def _conv2d(mod, stride, padding):
    return lambda x, w, b: mod.nn.functional.conv2d(x, w, b, stride=stride, padding=padding)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__.splitlines()[0])
    parser.add_argument("ref", help="git ref to compare the working tree with (e.g. main)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per row (default: the harness's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every row (default: the bench's, 1 for overhead and gemm, else 2)")
    parser.add_argument("--only", default=",".join(DEFAULT_GROUPS),
                        help=f"comma-separated row groups among {', '.join(GROUPS)} (default: %(default)s)")
    parser.add_argument("--build", action="store_true",
                        help="build REF's kernels even when their sources are the working tree's (A/A: "
                             "two builds of the same sources)")
    args = parser.parse_args(argv)
    groups = args.only.split(",")
    if not set(groups) <= set(GROUPS):
        parser.error(f"--only: expected groups among {', '.join(GROUPS)}, got {args.only}")
    harness.prepare_process()
    harness.configure(quick=args.quick)
    import minigrad

    with tempfile.TemporaryDirectory() as tmp:
        build = args.build or kernels_differ(args.ref)
        mods = {"ref": load_ref(args.ref, tmp, build=build), "work": minigrad}
        kernels = "its own kernels" if build else "the working tree's kernels"
        print(f"ref = {args.ref} ({kernels}), work = the working tree; CPU: {harness.cpu_name()}")
        print(f"{'row':<58} {'ref':>9} {'work':>9}  work/ref paired (q1-q3)  fastest")
        for label, threads, steps in rows(mods, groups):
            threads = args.threads or threads
            mods["ref"].set_num_threads(threads)  # its own setting (compare sets the working tree's)
            res = harness.compare(steps, threads=threads, baseline="ref", reps=args.reps)
            c, r = res["candidates"], res["ratios"]["work"]
            print(f"{label[:52] + f' ({threads}t)':<58} {harness.fmt_time(c['ref']['median']):>9} "
                  f"{harness.fmt_time(c['work']['median']):>9}  "
                  f"{r['median']:.3f} ({r['q1']:.3f}-{r['q3']:.3f})  {c['work']['min'] / c['ref']['min']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
