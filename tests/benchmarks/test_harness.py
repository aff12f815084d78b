"""The benchmark harness produces well-formed statistics and reports. No timing is asserted: these
machines are shared, and a test that fails when a neighbour compiles would be a bad test."""
import json
import math
import os
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks import batchnorm, harness  # noqa: E402

STAT_KEYS = {"median", "q1", "q3", "min", "max"}


def _ordered(s):
    return s["min"] <= s["q1"] <= s["median"] <= s["q3"] <= s["max"]


def test_compare_stats_are_well_formed():
    calls = {"a": 0, "b": 0, "torch": 0}

    def counter(name):
        def fn():
            calls[name] += 1
        return fn

    res = harness.compare({k: counter(k) for k in calls}, reps=4, warmup=2, threads=1, gap=0.0,
                          target=0.001)
    assert res["reps"] == 4 and res["threads"] == 1 and res["baseline"] == "torch"
    assert res["settings"]["minigrad"] == 1 and res["settings"]["numpy_blas"] == 1
    for name, s in res["candidates"].items():
        assert STAT_KEYS <= set(s) and _ordered(s)
        assert len(s["times"]) == 4 and all(t > 0 for t in s["times"])
        assert s["number"] >= 1
        # warm-up + calibration + every block's calls, nothing more and nothing less
        assert calls[name] == 2 + 1 + 4 * s["number"]
    assert set(res["ratios"]) == {"a", "b"}
    for r in res["ratios"].values():
        assert STAT_KEYS <= set(r) and _ordered(r) and r["median"] > 0
    # the order is rotated every repetition: each candidate leads once in 3 consecutive reps
    assert [o[0] for o in res["order"][:3]] == ["a", "b", "torch"]
    assert all(sorted(o) == sorted(calls) for o in res["order"])


def test_compare_reports_a_failing_candidate_and_times_the_others():
    def broken():
        raise RuntimeError("kernel missing")

    res = harness.compare({"minigrad": broken, "torch": lambda: None}, reps=2, gap=0.0, target=0.001)
    assert res["candidates"]["minigrad"] == {"error": "RuntimeError: kernel missing"}
    assert len(res["candidates"]["torch"]["times"]) == 2
    assert res["ratios"] == {}


def test_candidate_context_is_entered_once_per_block():
    entered = []

    class Ctx:
        def __enter__(self):
            entered.append(1)

        def __exit__(self, *exc):
            return False

    res = harness.compare({"x": harness.Candidate(lambda: None, Ctx)}, reps=3, warmup=1, gap=0.0,
                          target=0.001)
    assert len(entered) == 1 + 1 + 3  # warm-up, calibration, 3 blocks — not once per call
    assert res["candidates"]["x"]["number"] > 1


def test_threads_are_restored_for_every_library():
    import torch
    from threadpoolctl import threadpool_info

    def blas():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = harness.thread_settings()
    target = 2 if before["minigrad"] == 1 else 1
    with harness.use_threads(target):
        assert harness.thread_settings() == {"minigrad": target, "numpy_blas": target, "torch": target}
    assert harness.thread_settings() == before
    assert torch.get_num_threads() == before["torch"] and blas()[0] == before["numpy_blas"]


def test_process_settings_record_the_callers_environment(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    settings = harness.prepare_process()
    assert settings["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert harness.prepare_process()["OMP_WAIT_POLICY"] == "unset"  # libgomp's default, not overridden
    assert "OMP_WAIT_POLICY" not in os.environ
    assert settings["steady_allocator"] is True  # glibc here: mallopt accepted both limits



def test_busy_threads_counts_running_threads_and_not_sleeping_ones():
    """A thread inside a GIL-free numpy product is running; threads blocked on an event are not."""
    stop, asleep = threading.Event(), threading.Event()
    a = np.ones((400, 400))

    def work():
        while not stop.is_set():
            a @ a

    sleepers = [threading.Thread(target=asleep.wait) for _ in range(3)]
    worker = threading.Thread(target=work)
    for t in sleepers + [worker]:
        t.start()
    try:
        time.sleep(0.05)
        seen = [harness.busy_threads() for _ in range(50)]
        others = len(os.listdir("/proc/self/task")) - 1
    finally:
        stop.set()
        asleep.set()
        for t in sleepers + [worker]:
            t.join()
    assert max(seen) >= 1 and max(seen) <= others - len(sleepers)


def test_cpu_seconds_see_another_process_running():
    """Over a second in which a child process spins, other processes ran for about that second."""
    spin = "import time\nt = time.time()\nwhile time.time() < t + 1: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    start, t0 = harness.cpu_seconds(), time.perf_counter()
    child.wait()
    end, wall = harness.cpu_seconds(), time.perf_counter() - t0
    others = (end[0] - start[0]) - (end[1] - start[1])
    assert end[1] - start[1] < 0.2 and 0.5 * wall < others  # the child's CPU time, not ours


def test_shared_blocks_are_listed_under_the_table():
    row = {"case": "BN fwd+bwd 64x64", "threads": 2, "candidates": {
        "minigrad": {"busy": 2, "others": 0.1}, "torch": {"busy": 0, "others": 1.4},
        "numpy-ref": {"busy": None, "others": None}, "numpy": {"busy": 0, "others": 0.2}}}
    quiet = {"case": "quiet row", "threads": 1, "candidates": {"minigrad": {"busy": 0, "others": 0.3}}}
    (line,) = harness.busy_notes([row, quiet, {"case": "skipped row", "skipped": "n/a"}])
    assert line == ("- BN fwd+bwd 64x64 (2 threads): threads of the process running as a block started (a pool "
                    "still spinning?): minigrad 2; cores other processes kept busy during the blocks (median): "
                    "torch 1.4")


def test_step_candidates_time_the_same_work_in_each_framework():
    import numpy as np

    import minigrad

    x = np.random.default_rng(0).standard_normal((8, 3, 4, 4), dtype=np.float32)
    g = np.ones_like(x)
    bn = minigrad.nn.BatchNorm2d(3)
    cands = harness.step_candidates(bn, lambda torch: torch.nn.BatchNorm2d(3), (x,), g)
    assert set(cands) == {"minigrad", "numpy-ref", "torch"}
    for name in ("minigrad", "numpy-ref"):
        with cands[name].context():
            cands[name].fn()
            cands[name].fn()  # gradients are reset, not accumulated, between calls
        np.testing.assert_allclose(bn.bias.grad.numpy(), g.sum((0, 2, 3)), rtol=1e-5)


def test_quick_run_writes_well_formed_report(tmp_path, monkeypatch):
    # Shorter blocks and gaps than a real QUICK run: this checks the plumbing, not the figures.
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "gap", 0.01)
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "target", 0.002)
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "reps", 2)
    monkeypatch.setattr(batchnorm, "CASES", [(16, 8), (4, 3, 5, 5)])  # small: plumbing only
    try:
        assert bench_main.main(["--quick", "--only", "overhead,bn", "--out", str(tmp_path)]) == 0
    finally:
        harness.configure(quick=False)

    results = list((tmp_path / "benchmarks" / "results").glob("*-quick.json"))
    assert len(results) == 1
    data = json.loads(results[0].read_text())
    assert data["meta"]["quick"] is True
    machine = data["meta"]["machine"]
    assert machine["cpu"] and machine["numpy"] and "minigrad_config" in machine
    for when in ("start", "end"):
        p = data["probes"][when]
        assert p["copy_256MB_gbs"] > 0 and p["numpy_sgemm1024_gflops_1t"] > 0
        assert p.get("fma_gflops_1t", 1) > 0
    assert data["meta"]["process"]["steady_allocator"] is True
    assert list(data["sections"]) == ["bn", "overhead"]  # the report's order, not --only's
    for name, n_rows, threads in (("overhead", 3, 1), ("bn", 2, 2)):
        rows = data["sections"][name]["rows"]
        assert "error" not in data["sections"][name] and len(rows) == n_rows
        for r in rows:
            assert r["threads"] == threads and r["settings"]["minigrad"] == threads
            for c in r["candidates"].values():  # every repetition is kept, in rotated order
                assert len(c["times"]) == 2 and math.isfinite(c["median"]) and c["median"] > 0
            assert len(r["order"]) == 2 and r["order"][0] != r["order"][1]
            assert set(r["ratios"]) == set(r["candidates"]) - {"torch"}
    for r in data["sections"]["bn"]["rows"]:
        assert set(r["candidates"]) == {"minigrad", "numpy-ref", "torch"}
        assert r["bytes"] == 5 * 4 * math.prod(int(v) for v in re.findall(r"\d+", r["case"]))
        assert r["derived"]["gbs"] > 0 and r["bound_s"] > 0

    assert data["meta"]["full"] is False and not (tmp_path / "BENCHMARKS.md").exists()  # QUICK: no index
    md = results[0].with_suffix(".md").read_text()  # a partial run's report, next to its JSON
    assert data["meta"]["report"] == results[0].with_suffix(".md").name
    assert md.startswith(f"# minigrad benchmarks: {data['meta']['kind']}")
    assert f"**CPU:** {machine['cpu']}" in md and "ISA path per kernel family: " in md
    assert "## Per-op Python overhead" in md and "## BatchNorm forward + backward" in md
    assert "`OMP_WAIT_POLICY`" in md  # the method paragraph names the process settings
    assert "thread pools at the start (threadpoolctl): " in md and "× " in md  # the header lists them
    for r in data["sections"]["bn"]["rows"]:
        assert r["pools"] and all(" × " in p for p in r["pools"])
        for c in r["candidates"].values():
            assert isinstance(c["busy"], int) and c["busy"] >= 0 and math.isfinite(c["others"])
    assert "| case | threads | minigrad |" in md
    assert results[0].name in md  # the report links its raw data


CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n" \
          "processor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: other\n"


def test_cpu_kind_from_vendor_family_model():
    assert harness.cpu_ids(CPUINFO) == ("AuthenticAMD", 25, 17)
    assert harness.cpu_kind(harness.cpu_ids(CPUINFO)) == "AMD Zen 4"
    assert harness.cpu_kind(("AuthenticAMD", 25, 1)) == "AMD Zen 3"
    assert harness.cpu_kind(("AuthenticAMD", 26, 2)) == "AMD Zen 5"
    assert harness.cpu_kind(("GenuineIntel", 6, 143)) == "Intel Sapphire Rapids"
    assert harness.cpu_kind(("GenuineIntel", 6, 999)) == "GenuineIntel family 6 model 999"
    assert harness.cpu_ids("") == (None, None, None)


def test_cpu_name_says_the_microarchitecture_the_model_name_hides():
    assert harness.cpu_name(CPUINFO) == "AMD EPYC (Zen 4, family 25 model 17)"
    unknown = CPUINFO.replace("model\t\t: 17", "model\t\t: 250", 1)
    assert harness.cpu_name(unknown) == "AMD EPYC (family 25 model 250)"
    assert harness.cpu_name("model name\t: Some CPU\n") == "Some CPU"
    assert harness.cpu_name() == harness.machine_info()["cpu"]


def test_unknown_section_is_an_error():
    with pytest.raises(SystemExit):
        bench_main.main(["--only", "nonsense"])
