"""The kernel registry (``_ops/registry.py``): every kernel declared once, its door generated, its
twin and its compiled builds found by name; one ISA switch for every family."""
import contextlib
import inspect
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad
import minigrad._ops as ops
from minigrad._ops import reference
from minigrad._ops.registry import FAMILIES, ISAS, KERNELS


def test_every_twin_is_registered_and_every_kernel_has_a_twin():
    assert set(KERNELS) == set(reference.__all__)
    for name in KERNELS:
        assert callable(getattr(reference, name))


def test_each_declared_kernel_gets_a_door_named_after_it():
    for name, kernel in KERNELS.items():
        door = getattr(ops, name)
        assert door.__name__ == name and door.__doc__
        if kernel.args:  # a generated door: its parameters are the declared arrays, its doc the twin's
            assert list(inspect.signature(door).parameters) == [spec.name for spec in kernel.args]
            assert door.__doc__ == getattr(reference, name).__doc__


def test_generated_door_validates_then_calls_the_selected_implementation():
    x = np.array([[-1.0, 2.0]], np.float32)[:, ::-1]  # non-contiguous: handed over C-contiguous
    calls = []

    def record(name, fn, backend):
        def kernel(*args):
            calls.append((name, backend, [a.flags.c_contiguous for a in args]))
            return fn(*args)
        return kernel
    with ops.use_backend("numpy"), ops.instrument_kernels(record):
        np.testing.assert_array_equal(ops.relu_backward(np.ones_like(x), x), [[1.0, 0.0]])
    assert calls == [("relu_backward", "numpy", [True, True])]
    with pytest.raises(TypeError, match=r"relu_backward\(\) missing 1 required positional argument"):
        ops.relu_backward(x)


def test_compiled_builds_hold_every_kernel_of_their_family():
    for family, isas in FAMILIES.items():
        assert isas[0] == "generic" and all(isa in ISAS for isa in isas)
        for isa in ops.available_isas(family):
            with ops.use_isa(isa):
                for name in (k for k, v in KERNELS.items() if v.family == family):
                    fn = ops.compiled_kernel(name)
                    assert fn is not None and fn is not getattr(reference, name)
                    assert ops.kernel_paths()[f"{family}_path"] == isa


def test_set_isa_moves_every_family_at_most_to_that_level():
    before = ops.isa_level
    for level in ops.cpu_features():
        with ops.use_isa(level):
            assert ops.isa_level == level and minigrad.config()["isa"] == level
            for family in FAMILIES:
                path = ops.kernel_paths()[f"{family}_path"]
                # the best build of the family at or below the level
                assert path == max((i for i in ops.available_isas(family) if ISAS.index(i) <= ISAS.index(level)),
                                   key=ISAS.index)
    assert ops.isa_level == before  # use_isa restored it


def test_set_isa_rejects_unknown_levels_and_levels_the_cpu_lacks():
    with pytest.raises(ValueError, match="expected one of generic, avx2, avx512, got 'sse9'"):
        ops.set_isa("sse9")
    for level in ISAS:
        if level not in ops.cpu_features():  # never loaded where it could die with SIGILL
            with pytest.raises(ValueError, match="cannot run"):
                ops.set_isa(level)
            assert not any(m.startswith("minigrad._ops.") and m.endswith("_" + level) for m in sys.modules)


def _config_in_child(**env):
    code = "import minigrad, json; c = minigrad.config(); print(json.dumps({k: v for k, v in c.items() if 'path' in k or k == 'isa'}))"
    return subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_minigrad_isa_environment_variable():
    import json

    generic = _config_in_child(MINIGRAD_ISA="generic")
    assert generic.returncode == 0, generic.stderr
    assert set(json.loads(generic.stdout).values()) == {"generic"}  # every family, and the level
    capped = _config_in_child(MINIGRAD_ISA="avx512")  # at most what this CPU runs
    assert json.loads(capped.stdout)["isa"] == ops.cpu_features()[-1]
    bad = _config_in_child(MINIGRAD_ISA="sse9")
    assert bad.returncode != 0 and "MINIGRAD_ISA: expected one of generic, avx2, avx512, got 'sse9'" in bad.stderr
    old = _config_in_child(MINIGRAD_GEMM_ISA="generic")  # the former GEMM-only switch: a warning
    assert old.returncode != 0 and "MINIGRAD_GEMM_ISA is no longer read" in old.stderr


def test_show_config_prints_the_path_of_every_family():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        minigrad.show_config()
    lines = out.getvalue().splitlines()
    for family in FAMILIES:
        assert any(line.split()[:2] == [f"{family}_path", ops.kernel_paths()[f"{family}_path"]] for line in lines)
