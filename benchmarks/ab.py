"""`python -m benchmarks.ab REF [--quick]`: the working tree against git ref REF, in one process.

For a change to Python code (the engine, an op's bookkeeping) whose cost must be measured on a
shared, noisy machine: REF's ``minigrad/`` is extracted (``git archive``) into a temporary directory
as the package ``minigrad_ref``, with the working tree's compiled kernels (refused when REF's kernel
sources differ, so both sides run the same machine code), and both packages are imported side by
side. Each row of the overhead section, the MLP / SimpleConvNet train-step rows and the MLP
inference rows (as built and BN folded) is then timed by ``harness.compare({"ref": ..., "work":
...})``: interleaved, order rotated each repetition, ratio
paired by repetition. Prints, per row, both medians, the paired ratio work / ref (median and
quartiles) and the ratio of the fastest repetitions, which on a loaded machine is the steadier
figure (a block slowed by a neighbour only ever adds time).
"""
import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from . import harness, inference, overhead, train_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_SOURCES = ["setup.py", "minigrad/_ops/*.pyx", "minigrad/_ops/*.pxi", "minigrad/_ops/*.pxd"]


def _git(*args, check=True, **kwargs):
    return subprocess.run(["git", "-C", REPO, *args], check=check, **kwargs)


def load_ref(ref, tmp):
    """Import REF's minigrad as ``minigrad_ref`` (with the working tree's compiled kernels)."""
    if _git("diff", "--quiet", ref, "--", *KERNEL_SOURCES, check=False).returncode != 0:
        raise SystemExit(f"the kernel sources differ between {ref} and the working tree: build both "
                         "and compare with `make bench` instead")
    archive = os.path.join(tmp, "ref.tar")
    _git("archive", "-o", archive, ref, "minigrad")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    dest = os.path.join(tmp, "minigrad_ref")
    os.rename(os.path.join(tmp, "minigrad"), dest)
    built = _git("ls-files", "--others", "--ignored", "--exclude-standard", "minigrad/_ops",
                 capture_output=True, text=True).stdout.split()
    for path in built:
        if path.endswith((".so", ".pyd", "_build_info.py")):
            shutil.copy(os.path.join(REPO, path), os.path.join(dest, "_ops", os.path.basename(path)))
    sys.path.insert(0, tmp)
    return importlib.import_module("minigrad_ref")


def _lib(mod):
    """train_step.Lib for an already imported package (Lib itself imports ``minigrad`` by name)."""
    lib = train_step.Lib.__new__(train_step.Lib)
    lib.name, lib.mod, lib.nn, lib.optim, lib.F = "minigrad", mod, mod.nn, mod.optim, mod.nn.functional
    return lib


def rows(mods):
    """(label, threads, {name: step function}) for each row, for every package in ``mods``."""
    for _, label, make in overhead.CASES:
        yield label, 1, {name: make(mod) for name, mod in mods.items()}
    for key in ("mlp", "cnn"):
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
    for fused in (False, True):
        steps = {}
        for name, mod in mods.items():
            mod.manual_seed(0)
            steps[name] = inference.infer_fn(_lib(mod), "mlp", fused)
        yield "infer (a) MLP" + (", BN folded" if fused else ""), 2, steps


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__.splitlines()[0])
    parser.add_argument("ref", help="git ref to compare the working tree with (e.g. main)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per row (default: the harness's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every row (default: the bench's, 1 for overhead and 2 for train)")
    args = parser.parse_args(argv)
    harness.prepare_process()
    harness.configure(quick=args.quick)
    import minigrad

    with tempfile.TemporaryDirectory() as tmp:
        mods = {"ref": load_ref(args.ref, tmp), "work": minigrad}
        print(f"ref = {args.ref}, work = the working tree; CPU: {harness.cpu_name()}")
        print(f"{'row':<58} {'ref':>9} {'work':>9}  work/ref paired (q1-q3)  fastest")
        for label, threads, steps in rows(mods):
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
