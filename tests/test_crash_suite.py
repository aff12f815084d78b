"""Crash suite: malformed calls to every public op, module, optimizer and ``minigrad.load`` must raise a
clear exception, never kill the interpreter.

The cases live in ``tests/_crash_cases.py`` and run in child processes (one per group, each running
all of its cases and reporting one JSON line per case), so a segfault in compiled code shows up as a
child that died; the parent then records that case as a crash and restarts the child after it.
Every case must raise the expected exception type with a message naming the argument at fault.
Also here, in-process: zero-size batches that must *work* (forward and backward) like PyTorch.
"""
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad._ops.registry import KERNELS

torch = pytest.importorskip("torch")

CASES = Path(__file__).with_name("_crash_cases.py")
GROUPS = ("ops", "functional", "nn", "optim", "load")
MIN_CASES = {"ops": 80, "functional": 60, "nn": 15, "optim": 10, "load": 20}


def _run_group(group):
    """Results of every case of ``group`` (a dict per case) and the names of the cases that crashed."""
    results, crashed, start, total = [], [], 0, None
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    while total is None or start < total:
        proc = subprocess.run([sys.executable, str(CASES), group, str(start)], capture_output=True,
                              text=True, env=env, timeout=600)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        assert lines and lines[0].get("header"), f"{group}: the child printed no header:\n{proc.stderr[-2000:]}"
        header, done = lines[0], lines[1:]
        # the child must test the same minigrad (and backend) as this process
        assert header["minigrad"] == minigrad.__file__ and header["backend"] == minigrad._ops.get_backend()
        total = header["total"]
        results += done
        start = done[-1]["index"] + 1 if done else start
        if proc.returncode != 0:  # died inside case ``start``: record it, go on after it
            crashed.append(f"case {start} (rc {proc.returncode}): {proc.stderr[-500:]}")
            start += 1
    return results, crashed, total


@pytest.mark.parametrize("group", GROUPS)
def test_malformed_calls_raise_clear_errors_and_never_crash(group):
    results, crashed, total = _run_group(group)
    assert crashed == [], f"{len(crashed)} interpreter crash(es) in {group}: {crashed}"
    assert total >= MIN_CASES[group] and len(results) == total
    silent = [r["name"] for r in results if r["raised"] is None]
    wrong = [(r["name"], r["raised"], r["message"]) for r in results if r["raised"] and not r["expected"]]
    unclear = [(r["name"], r["message"]) for r in results if r["expected"] and not r["matched"]]
    assert silent == [], f"accepted without an error: {silent}"
    assert wrong == [], f"unexpected exception types: {wrong}"
    assert unclear == [], f"messages that do not name the argument: {unclear}"


def test_every_registered_kernel_has_crash_cases():
    """Each ``ops`` case is named after the kernel whose door it calls: every kernel has some."""
    called = {name.split(":")[0] for group, name, *_ in runpy.run_path(str(CASES))["CASES"] if group == "ops"}
    assert set(KERNELS) <= called, sorted(set(KERNELS) - called)


def test_a_segfault_in_a_case_is_detected(tmp_path):
    """The harness itself: a child that dies mid-group is reported as a crash, and the rest still runs."""
    fake = tmp_path / "_crash_cases.py"
    fake.write_text(
        "import json, os, sys, minigrad\n"
        "start = int(sys.argv[2])\n"
        "print(json.dumps({'header': True, 'total': 3, 'minigrad': minigrad.__file__,\n"
        "                  'backend': minigrad._ops.get_backend()}), flush=True)\n"
        "for i in range(start, 3):\n"
        "    if i == 1:\n"
        "        os.abort()\n"
        "    print(json.dumps({'index': i, 'name': str(i), 'raised': 'ValueError', 'message': 'x',\n"
        "                      'expected': True, 'matched': True}), flush=True)\n"
    )
    global CASES
    saved, CASES = CASES, fake
    try:
        results, crashed, total = _run_group("any")
    finally:
        CASES = saved
    assert [r["index"] for r in results] == [0, 2] and len(crashed) == 1 and crashed[0].startswith("case 1 ")


# ---------------------------------------------------------------- zero-size batches work

def _pair(shape, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    return minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


EMPTY = {
    "conv2d N=0": ((0, 2, 5, 5), (3, 2, 3, 3), lambda F_, x, w: F_.conv2d(x, w, padding=1)),
    "conv1d N=0": ((0, 2, 5), (3, 2, 3), lambda F_, x, w: F_.conv1d(x, w)),
    "linear N=0": ((0, 4), (3, 4), lambda F_, x, w: F_.linear(x, w)),
    "linear in_features=0": ((2, 2, 0), (3, 0), lambda F_, x, w: F_.linear(x, w)),
    "linear out_features=0": ((2, 3), (0, 3), lambda F_, x, w: F_.linear(x, w)),
    "max_pool2d N=0": ((0, 2, 4, 4), (1,), lambda F_, x, w: F_.max_pool2d(x, 2) * w.sum()),
    "avg_pool2d N=0": ((0, 2, 4, 4), (1,), lambda F_, x, w: F_.avg_pool2d(x, 2) * w.sum()),
    "relu N=0": ((0, 3), (1,), lambda F_, x, w: F_.relu(x) * w.sum()),
}


@pytest.mark.parametrize("case", sorted(EMPTY))
def test_zero_size_batches_work_like_torch(case, rng):
    """Forward and backward of an empty batch: right shapes and zero (not uninitialized) gradients."""
    x_shape, w_shape, op = EMPTY[case]
    (x, tx), (w, tw) = _pair(x_shape, rng), _pair(w_shape, rng)
    y, ty = op(F, x, w), op(torch.nn.functional, tx, tw)
    assert y.shape == tuple(ty.shape)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(w.grad.data, tw.grad.numpy())
