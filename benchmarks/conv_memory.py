"""Peak scratch memory of one conv2d forward + backward, against the size of its column matrix.

    python -m benchmarks.conv_memory [--batch N] [--threads T]

Case (c) of the conv section (N, 3→32, 32×32, k3, p1) with N = 512 by default, float32. The
column matrix of im2col would be C·KH·KW × N·OH·OW values (27 × 524,288 = 56.6 MB here); minigrad's
implicit-GEMM kernels never build it. Two measurements, in a fresh process each:

- **RSS**: the process's resident high-water mark (``ru_maxrss``) after one forward + backward,
  minus its resident size before the call, minus the bytes of the arrays the call returns or keeps
  (y, ∂x, ∂W, ∂b): what the call needed on top of its inputs and results. tracemalloc cannot see
  the kernels' C mallocs; the RSS does (glibc keeps the pages until exit, so the high-water mark
  is not undercounted by an early free).
- **counted**: the scratch the conv asked for by name: the kernels' packing buffers, tap table,
  ∂W's partial sums and ∂x's blocks of columns (``conv_scratch_bytes`` of the GEMM module, the
  largest of forward, ∂W and ∂x).
"""
import argparse
import json
import os
import resource
import subprocess
import sys

CASE = (3, 32, 32, 32, 3, 1)  # (c): Cin, H, W, Cout, k, stride; padding 1


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(batch, threads):
    """One forward + backward in this process: a dict of the figures (bytes)."""
    import numpy as np

    import minigrad
    import minigrad._ops as ops
    import minigrad.nn.functional as F

    ops.set_num_threads(threads)
    C, H, W, Cout, k, s = CASE[:6]
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((batch, C, H, W), dtype=np.float32), requires_grad=True)
    w = minigrad.tensor(rng.standard_normal((Cout, C, k, k), dtype=np.float32), requires_grad=True)
    b = minigrad.tensor(np.zeros(Cout, np.float32), requires_grad=True)
    g = minigrad.tensor(rng.standard_normal((batch, Cout, H, W), dtype=np.float32))
    before = _rss_bytes()
    y = F.conv2d(x, w, b, stride=s, padding=1)
    y.backward(g)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kept = sum(t.detach().numpy().nbytes for t in (y, x.grad, w.grad, b.grad))
    scratch_of_last_call = sys.modules[ops.compiled_kernel("conv2d_forward").__module__].conv_scratch_bytes
    xs, ws, gs = x.detach().numpy(), w.detach().numpy(), g.numpy()
    scratch = []
    for call in (lambda: ops.conv2d_forward(xs, ws, s, 1), lambda: ops.conv2d_backward_weight(gs, xs, ws.shape, s, 1),
                 lambda: ops.conv2d_backward_input(gs, ws, xs.shape, s, 1)):
        call()
        scratch.append(scratch_of_last_call())
    return {"batch": batch, "threads": threads, "columns": C * k * k * batch * H * W * 4,
            "rss_scratch": max(peak - before - kept, 0), "kernel_scratch": max(scratch)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.batch, args.threads)))
        return
    out = subprocess.run([sys.executable, "-m", "benchmarks.conv_memory", "--child", "--batch", str(args.batch),
                          "--threads", str(args.threads)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    mb = 1e6
    counted = r["kernel_scratch"]
    print(f"conv (c) N={r['batch']}, 3->32, 32x32, k3 p1, float32, {r['threads']} threads: fwd + bwd")
    print(f"  column matrix (never built)   {r['columns'] / mb:8.2f} MB")
    print(f"  scratch, RSS high-water       {r['rss_scratch'] / mb:8.2f} MB  = 1/{r['columns'] / max(r['rss_scratch'], 1):.0f} "
          "of the column matrix")
    print(f"  scratch, counted              {counted / mb:8.2f} MB  = 1/{r['columns'] / counted:.0f} "
          "(the largest of the forward's, ∂W's and ∂x's kernel scratch)")


if __name__ == "__main__":
    main()
