"""Run-time configuration: show_config, thread count, kernel backend selection."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import _ops


def test_show_config_prints_backend_threads_and_versions(capsys):
    minigrad.show_config()
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines() if line.split()}
    assert lines["minigrad"] == minigrad.__version__
    assert lines["numpy"] == np.__version__
    assert lines["kernels"] == _ops.get_backend()
    assert lines["threads"] == str(minigrad.get_num_threads())
    assert lines["openmp"] in ("True", "False")
    assert "compiler" in lines or "build info: not available" in out


def test_config_dict_matches_runtime():
    info = minigrad.config()
    assert info["kernels"] == _ops.get_backend() and info["threads"] == minigrad.get_num_threads()
    if info.get("gemm_path", "not built") != "not built":  # the blocking chosen from the caches
        b = _ops.gemm_blocking()
        assert b["kc"] > 0 and b["mc"] > 0 and info["gemm_blocking"] == f"tile {b['mr']}x{b['nr']}, kc {b['kc']}, mc {b['mc']}, nc {b['nc']}"


def test_compiled_backend_is_active_by_default():
    """Unless the numpy kernels were asked for, the built extension must be the one running."""
    if os.environ.get("MINIGRAD_KERNELS") == "numpy":
        assert _ops.get_backend() == "numpy"
    else:
        assert _ops.get_backend() == "compiled"
        assert not _ops._compile_errors, _ops._compile_errors


def test_set_get_num_threads_round_trip():
    before = minigrad.get_num_threads()
    try:
        for n in (1, 2, 1):
            minigrad.set_num_threads(n)
            if minigrad.config()["openmp"]:
                assert minigrad.get_num_threads() == n
            assert minigrad.config()["threads"] == minigrad.get_num_threads()
    finally:
        minigrad.set_num_threads(before)
    assert minigrad.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects_non_positive_ints(bad):
    before = minigrad.get_num_threads()
    with pytest.raises(ValueError, match="positive int"):
        minigrad.set_num_threads(bad)
    assert minigrad.get_num_threads() == before


def test_use_backend_switches_and_restores():
    before = _ops.get_backend()
    with _ops.use_backend("numpy"):
        assert _ops.get_backend() == "numpy"
        assert minigrad.config()["kernels"] == "numpy"
        y = minigrad.functional.relu(minigrad.tensor([-1.0, 2.0]))
    assert _ops.get_backend() == before
    assert y.tolist() == [0.0, 2.0]
    with pytest.raises(ValueError, match="must be 'compiled' or 'numpy'"):
        _ops.use_backend("fortran").__enter__()
    assert _ops.get_backend() == before


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root


def test_environment_selects_backend_and_threads():
    r = _run("import minigrad; print(minigrad.config()['kernels'], minigrad.get_num_threads(), "
             "minigrad.config()['openmp'])", MINIGRAD_KERNELS="numpy", MINIGRAD_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr
    kernels, threads, _ = r.stdout.split()
    assert kernels == "numpy" and threads == "1"
    r = _run("import minigrad", MINIGRAD_KERNELS="fortran")
    assert r.returncode != 0 and "MINIGRAD_KERNELS must be 'compiled' or 'numpy'" in r.stderr


@pytest.mark.parametrize("env, expected", [
    ({"OMP_NUM_THREADS": "1"}, "1"),                                # honoured like PyTorch does
    ({"OMP_NUM_THREADS": "1", "MINIGRAD_NUM_THREADS": "2"}, "2"),   # minigrad's own variable wins
])
def test_thread_count_from_environment(env, expected):
    env = {"MINIGRAD_NUM_THREADS": "", **env}
    r = _run("import minigrad; print(minigrad.get_num_threads())", **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == expected


def test_invalid_thread_variable_warns_and_is_ignored():
    r = _run("import minigrad; print(minigrad.get_num_threads())", MINIGRAD_NUM_THREADS="many", OMP_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr
    assert "MINIGRAD_NUM_THREADS='many' is not a positive integer" in r.stderr
    assert r.stdout.split()[-1] == "1"
