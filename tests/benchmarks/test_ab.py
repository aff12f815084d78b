"""benchmarks/ab.py: a git ref's minigrad imported as ``minigrad_ref`` beside the working tree's,
with the working tree's compiled kernels or with the ref's own build, and the rows of every group.
No timing is asserted (shared machines).

What is tested: the import of REF (HEAD) as a second package; its kernels copied from the working
tree's build; REF's setup.py building REF's kernels from a ``git archive`` of REF into the build
cache, and the cache reused. What is not: a build of all of REF's kernels (a few minutes, too long
for the suite): the build test builds one small kernel (``cpu.pyx``, through MINIGRAD_BUILD_ONLY)
and the working tree's build supplies the others.
"""
import filecmp
import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

import minigrad  # noqa: E402
from benchmarks import ab, conv, gemm, overhead  # noqa: E402


@pytest.fixture
def load(tmp_path):
    """ab.load_ref into a fresh directory; the package is forgotten afterwards."""
    def load(*args, **kwargs):
        return ab.load_ref("HEAD", str(tmp_path / "pkg"), *args, **kwargs)

    (tmp_path / "pkg").mkdir()
    yield load
    sys.path[:] = [p for p in sys.path if p != str(tmp_path / "pkg")]
    for name in [n for n in sys.modules if n == "minigrad_ref" or n.startswith("minigrad_ref.")]:
        del sys.modules[name]


def _module_file(package, family):
    return sys.modules[f"{package.__name__}._ops.{family}"].__file__


def test_ref_runs_beside_the_working_tree_on_its_kernels(load):
    ref = load(build=False)
    assert ref.__name__ == "minigrad_ref" and ref.Tensor is not minigrad.Tensor
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(ref._ops.gemm(a, a.T), minigrad._ops.gemm(a, a.T))
    family = f"gemm_{ref._ops.kernel_paths()['gemm_path']}"
    assert _module_file(ref, family).startswith(os.path.dirname(ref.__file__))
    assert filecmp.cmp(_module_file(ref, family), _module_file(minigrad, family), shallow=False)


def test_ref_kernels_are_built_by_its_setup_py_and_cached(load, tmp_path, monkeypatch):
    build_dir = str(tmp_path / "build")
    ref = load(build=True, only="cpu", build_dir=build_dir)
    (entry,) = os.listdir(build_dir)  # one cache entry, no temporary directory left behind
    built = os.listdir(os.path.join(build_dir, entry))
    assert len(built) == 1 and built[0].startswith("cpu.")
    # the package holds REF's build of cpu.pyx, and the working tree's build of the others
    assert filecmp.cmp(_module_file(ref, "cpu"), os.path.join(build_dir, entry, built[0]), shallow=False)
    assert ref._ops.cpu.cpu_features() == minigrad._ops.cpu.cpu_features()
    assert ref._ops.gemm(np.eye(3), np.eye(3)).tolist() == np.eye(3).tolist()

    real_run = ab.subprocess.run

    def run(cmd, *args, **kwargs):
        assert cmd[0] != sys.executable, "the cached build was not reused"
        return real_run(cmd, *args, **kwargs)
    monkeypatch.setattr(ab.subprocess, "run", run)
    assert ab.build_ref_kernels("HEAD", "cpu", build_dir) == os.path.join(build_dir, entry)
    assert ab._build_key("HEAD", "cpu") != ab._build_key("HEAD", None)


def test_rows_of_every_group_run_on_both_packages(load):
    mods = {"ref": load(build=False), "work": minigrad}
    labels = []
    for label, threads, steps in ab.rows(mods, ab.GROUPS):
        assert set(steps) == {"ref", "work"} and threads in (1, 2)
        if label != "gemm 2048^3":  # the largest product: built, not run
            for step in steps.values():
                step()
        labels.append(label)
    assert len(labels) == len(overhead.CASES) + 2 + 2 + len(gemm.CASES) + len(conv.CONV_CASES)
    assert [lab.split()[0] for lab in labels[-len(gemm.CASES) - len(conv.CONV_CASES):]] == (
        ["gemm"] * len(gemm.CASES) + ["conv"] * len(conv.CONV_CASES))


def test_unknown_group_is_refused():
    with pytest.raises(SystemExit):
        ab.main(["HEAD", "--only", "gemm,bogus"])
