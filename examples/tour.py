"""A guided tour of what happens inside minigrad during one training step (no notebook needed).

    python examples/tour.py [--quick] [--out DIR] [--batch-size N]

1. builds a tiny CNN (conv → [batch norm] → ReLU → max-pool → linear) and takes a batch of real
   Fashion-MNIST images from the subset bundled with minigrad;
2. runs the forward pass and draws the graph autograd recorded: DOT text to OUT/tour_graph.dot,
   OUT/tour_graph.svg when Graphviz's ``dot`` is installed, and OUT/tour_graph.html, a page to open
   in any browser: click the nodes, step through backward, collapse the layers into boxes;
3. ``minigrad.explain(loss)``: the order backward will visit the ops, each op's local gradient, and
   the shapes of the gradients flowing through it;
4. hooks: a forward hook and a full backward hook on every layer print what flows through it;
5. ``minigrad.profile()`` around one full step (forward, backward, optimizer), compared with the step
   time measured by ``time.perf_counter``.

Read the sources next to the output: docs/internals.md is the map.
"""
import argparse
import shutil
import time
from pathlib import Path

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim

OUT_DIR = Path(__file__).resolve().parent / "out"


def make_model():
    """A tiny CNN for 1×28×28 images; uses BatchNorm2d once the package has it."""
    norm = [nn.BatchNorm2d(4)] if hasattr(nn, "BatchNorm2d") else []
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=not norm), *norm, nn.ReLU(), nn.MaxPool2d(4),
        nn.Flatten(), nn.Linear(4 * 7 * 7, 10),
    )


def load_batch(batch_size):
    """(images, labels, description): real images from the bundled subset, random ones without it."""
    try:
        from minigrad.data.datasets import FashionMNIST
        data = FashionMNIST(subset="small")
        return data.data[:batch_size], data.targets[:batch_size], "bundled Fashion-MNIST images"
    except Exception as exc:  # the data package is optional for the tour
        x = minigrad.randn(batch_size, 1, 28, 28)
        y = minigrad.randint(0, 10, (batch_size,))
        return x, y, f"random images ({type(exc).__name__}: {exc})"


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller batch (what the test runs)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default {OUT_DIR})")
    args = parser.parse_args(argv)
    batch = 8 if args.quick else args.batch_size
    args.out.mkdir(parents=True, exist_ok=True)
    minigrad.manual_seed(0)

    section("1. a tiny net and a batch")
    model = make_model()
    x, y, desc = load_batch(batch)
    params = dict(model.named_parameters())
    print(model)
    print(f"{sum(p.numel() for p in model.parameters())} parameters; batch: {tuple(x.shape)} {desc}")

    section("2. forward, and the graph autograd recorded")
    with minigrad.viz.record_modules(model) as modules:  # which layer ran each op, for the page
        loss = F.cross_entropy(model(x), y)
    print(f"loss = {loss.item():.4f}")
    graph = minigrad.viz.draw_graph(loss, show_grad_norms=True, params=params, legend=True)
    dot_path = graph.save(str(args.out / "tour_graph.dot"))
    print(f"graph: {graph.count(' -> ')} edges, DOT text in {dot_path}")
    if shutil.which("dot"):
        print(f"rendered: {graph.render(str(args.out / 'tour_graph.svg'))}")
    else:
        print("(install Graphviz's `dot` to get an SVG too, e.g. `apt-get install graphviz`)")
    page = minigrad.viz.html(loss, modules=modules, path=str(args.out / "tour_graph.html"))
    print(f"interactive page ({len(page.encode()) // 1024} KiB, works offline): {args.out / 'tour_graph.html'}")

    section("3. explain: what backward will do, op by op")
    minigrad.explain(loss, params=params)

    section("4. hooks: what flows through each layer")
    handles = []
    for name, layer in model.named_children():
        def forward_hook(module, inputs, output, name=name):
            out = output.data
            print(f"  forward  {name:>2} {type(module).__name__:<12} out {str(tuple(out.shape)):<16} "
                  f"mean {out.mean():+.3f} std {out.std():.3f}")

        def backward_hook(module, grad_input, grad_output, name=name):
            gin = "-" if grad_input[0] is None else f"{np.linalg.norm(grad_input[0].data):.3e}"
            print(f"  backward {name:>2} {type(module).__name__:<12} ‖grad_output‖ "
                  f"{np.linalg.norm(grad_output[0].data):.3e}  ‖grad_input‖ {gin}")
        handles.append(layer.register_forward_hook(forward_hook))
        handles.append(layer.register_full_backward_hook(backward_hook))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    model.zero_grad()

    section("5. profile one training step")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step()  # warm-up: first calls allocate and load code
    with minigrad.profile() as prof:
        start = time.perf_counter()
        step()
        measured = time.perf_counter() - start
    print(prof.table())
    print(f"measured step: {measured * 1e3:.3f} ms; the ops account for {100 * prof.total_time / measured:.0f} % "
          "(the rest: Python between the ops: Tensor bookkeeping, the engine loop, zero_grad)")
    bn_stats = getattr(getattr(nn, "utils", None), "bn_stats", None)
    if bn_stats is not None and any(type(m).__name__.startswith("BatchNorm") for m in model.modules()):
        section("6. batch-norm running statistics")
        print(bn_stats(model))
    return prof


if __name__ == "__main__":
    main()
