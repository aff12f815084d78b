"""`python -m benchmarks [--quick] [--only gemm,ladder,conv,bn,elementwise,optim,train,infer,overhead,scaling,threads,tune] [--out DIR]`

Runs the sanity probes, then each section's ``run(quick)`` (one module per section), then the
probes again, and writes ``DIR/benchmarks/results/<UTC time>.json`` and a report: a full run (every
section, not QUICK) ``DIR/benchmarks/results/<CPU kind>.md``, then the index ``DIR/BENCHMARKS.md``
(one section per CPU kind, see :mod:`benchmarks.per_cpu`); a partial or QUICK run
``DIR/benchmarks/results/<UTC time>.md``. DIR defaults to the repository root. A section whose
module is missing or fails is reported as such; the others still run.
"""
import argparse
import importlib
import os
import sys
import time

from . import harness, per_cpu

# section → (module, title, description); the order is the report's order.
SECTIONS = {
    "train": ("train_step", "End-to-end training step",
              "Forward + backward + optimizer step (`zero_grad`, model, `F.cross_entropy`, `backward`, "
              "`step`), batch 100, float32, on one fixed batch. The same architecture is built from "
              "`minigrad.nn` and `torch.nn`."),
    "infer": ("inference", "Inference",
              "The train section's MLP (a) and demo CNN (c) in `model.eval()` under `no_grad`, batch 100, float32; in "
              "the \"BN folded\" rows both frameworks run the model with each BatchNorm folded into the Linear/Conv "
              "before it (`nn.utils.fuse_bn`, `torch.nn.utils.fusion`)."),
    "gemm": ("gemm", "GEMM (C = A @ B)", "float32 matrix multiplication."),
    "ladder": ("ladder", "GEMM speed-up ladder",
               "C = A @ B (float32) from a naive triple loop to minigrad's kernel, one idea per step "
               "(benchmarks/ladder/, explained in docs/kernels.md); every step checked against a "
               "float64 product first. `× previous step`, `× step 1` and `speed / numpy` are medians "
               "of paired time ratios (quartiles in parentheses); numpy rows are the yardstick."),
    "conv": ("conv", "Conv2d and max-pool, forward + backward",
             "float32, forward + backward (dx, dW, db)."),
    "bn": ("batchnorm", "BatchNorm forward + backward (training mode)",
           "float32, module forward (batch statistics, running update) + backward to x, γ, β. `DRAM bound` "
           "= 5 × N·C·H·W·4 bytes (forward reads x, writes y; backward reads grad_out and x, writes grad_x) "
           "/ the run's 256 MB copy bandwidth (read + write); `GB/s (minigrad)` counts those same bytes."),
    "elementwise": ("elementwise", "Activations forward + backward",
                    "float32, `F.<op>(x)` and its backward to x (sigmoid, tanh, GELU, ReLU on the compiled "
                    "elementwise kernels)."),
    "optim": ("optim", "Optimizer step", "One `optimizer.step()` over a model's parameters."),
    "overhead": ("overhead", "Per-op Python overhead",
                 "Tiny tensors, so the time is the framework's per-op dispatch and autograd "
                 "bookkeeping, not arithmetic. `numpy` is the bare numpy expression (a floor)."),
    "scaling": ("plot", "Scaling", "Time or throughput against problem size, 1 and 2 threads."),
    "threads": ("threads", "Thread scaling",
                "The headline rows at 1, 2, 4, 8 and 16 threads (those this machine has, and its core count), "
                "each thread count its own interleaved comparison; `minigrad / 2 threads` is minigrad's median "
                "time over its own at 2 threads."),
    "tune": ("tune", "Hyperparameter search on local worker processes",
             "Wall time of 20 trials of the book's §6.5 random search (`minigrad.tune.random_search`, "
             "pool start included) on 1 and on 2 one-thread worker processes; acceptance: speed-up ≥ 1.7×."),
}

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and cases (≤ 2 min)")
    parser.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--out", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        help="directory for BENCHMARKS.md and benchmarks/results/ (default: the repo)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    process = harness.prepare_process()  # before torch and minigrad load their OpenMP runtime
    harness.configure(quick=args.quick)
    started, t0 = harness.utc_now(), time.perf_counter()
    results_dir = os.path.join(args.out, "benchmarks", "results")
    os.makedirs(results_dir, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    path_json = os.path.join(results_dir, stamp + ".json")
    ids = harness.cpu_ids()
    kind, full = harness.cpu_kind(ids), not args.quick and set(only) == set(SECTIONS)
    path_md = per_cpu.report_path(results_dir, kind, stamp, full)

    print("[bench] machine info and sanity probes", file=sys.stderr, flush=True)
    info = harness.machine_info()
    probes = {"start": harness.probes(quick=args.quick)}
    print("[bench] " + harness.sanity_line(info, probes["start"]), file=sys.stderr, flush=True)

    sections = {}
    for name in [s for s in SECTIONS if s in only]:
        module_name = SECTIONS[name][0]
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ImportError as e:
            sections[name] = {"rows": [], "error": harness.not_available(e)}
            print(f"[bench] {name}: {sections[name]['error']}", file=sys.stderr, flush=True)
            continue
        if name == "scaling":  # it also draws a PNG named after the report; a stale one must not be linked
            image = per_cpu.scaling_image(path_md)
            if os.path.exists(image):
                os.remove(image)
            sections[name] = harness.run_section(name, lambda quick: module.run(quick, image=image), args.quick)
            if os.path.exists(image):
                sections[name]["image"] = image
        else:
            sections[name] = harness.run_section(name, module.run, args.quick)

    probes["end"] = harness.probes(quick=True)
    info["loadavg_end"] = os.getloadavg()
    data = {
        "meta": {"started": started.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "argv": sys.argv,
                 "kind": kind, "cpu_ids": ids, "full": full, "report": os.path.basename(path_md),
                 "duration_s": time.perf_counter() - t0, "defaults": dict(harness.DEFAULTS),
                 "process": process, "machine": info},
        "probes": probes,
        "sections": sections,
    }
    harness.write_report(path_md, path_json, data, {k: v[1:] for k, v in SECTIONS.items()})
    if full:
        per_cpu.write_index(os.path.join(args.out, "BENCHMARKS.md"), results_dir)
    print(f"[bench] wrote {path_md} and {path_json} ({data['meta']['duration_s']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
