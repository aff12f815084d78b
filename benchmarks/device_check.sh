#!/usr/bin/env bash
# One pass of issue 17's and issue 21's checks on a many-core machine, in about 8 minutes: build
# the kernels, show_config (fails if they are not compiled), the kernel tests, the thread-scaling
# table (GEMM vs numpy at every thread count, BN / conv / train steps / tiny op vs torch) and a
# GEMM blocking sweep.
# Uses the system python3 (numpy, Cython, setuptools, pytest, threadpoolctl, torch), no network.
#
#   OUT=/some/dir bash benchmarks/device_check.sh      (default OUT: ./device_check_out)
#   THREADS=1,2 ...                                     (thread counts; default 1, 2, 4, 8, 16, cores)
#
# Writes under $OUT: log.txt (everything), build.log, config.txt, tests.txt, threads.md and
# threads.json (the scaling table), blocking.txt. Each step has its own time limit, so a slow
# step costs its own results only.
set -u
OUT=${OUT:-device_check_out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
PY=${PYTHON:-python3}
JOBS=$(nproc)
step() { echo; echo "== $(date -u +%H:%M:%S) $*"; }

step "machine"
lscpu | grep -E "Model name|^CPU\(s\)|L1d|L2|L3|Flags" | cut -c1-200
uptime

step "build (-j$JOBS)"
if ! timeout 150 $PY setup.py build_ext --inplace -j"$JOBS" > "$OUT/build.log" 2>&1; then
    tail -40 "$OUT/build.log"; echo "BUILD FAILED"; exit 1
fi

step "show_config"
$PY - <<'EOF' | tee "$OUT/config.txt" || { echo "KERNELS NOT COMPILED"; exit 1; }
import minigrad
from minigrad import _ops
minigrad.show_config()
assert _ops.get_backend() == "compiled", f"kernels not compiled: {_ops._compile_errors}"
EOF

step "kernel tests"
timeout 60 $PY -m pytest -q -x -p no:cacheprovider tests/_ops > "$OUT/tests.txt" 2>&1
echo "tests/_ops exit $?"; tail -5 "$OUT/tests.txt"

step "thread scaling"
timeout 300 $PY -m benchmarks.threads --reps 5 ${THREADS:+--threads $THREADS} --json "$OUT/threads.json" > "$OUT/threads.md"
echo "exit $?"; cat "$OUT/threads.md"

step "GEMM blocking sweep (kc, mc) at 1 and all threads, time / default blocking"
timeout 40 $PY - <<'EOF' | tee "$OUT/blocking.txt"
import contextlib, importlib, os
import numpy as np
from benchmarks import harness
harness.prepare_process()
from minigrad import _ops
mod = importlib.import_module(f"minigrad._ops.gemm_{_ops.kernel_paths()['gemm_path']}")  # the build in use
default = mod.blocking()
print("default", default)

@contextlib.contextmanager
def blocking(kc, mc):
    mod.set_blocking(kc, mc)
    try:
        yield
    finally:
        mod.set_blocking(default["kc"], default["mc"])

variants = [(kc, default["mc"]) for kc in (128, 192, 256, 384)] + [(default["kc"], mc) for mc in (192, 384)]
rng = np.random.default_rng(0)
for M, K, N in ((1024, 1024, 1024), (256, 1024, 1024)):
    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((K, N), dtype=np.float32)
    for t in sorted({1, os.cpu_count()}):
        cands = {"default": lambda: mod.gemm(a, b), "numpy": lambda: a @ b}
        for kc, mc in variants:
            cands[f"kc{kc}/mc{mc}"] = harness.Candidate(lambda: mod.gemm(a, b), lambda kc=kc, mc=mc: blocking(kc, mc))
        res = harness.compare(cands, threads=t, reps=3, warmup=1, gap=0.12, target=0.03, baseline="default")
        print(f"{M}x{K}x{N} t{t}: default {res['candidates']['default']['median'] * 1e3:.2f} ms; "
              + ", ".join(f"{k} {v['median']:.3f}" for k, v in res["ratios"].items()), flush=True)
EOF

step "done"
uptime
