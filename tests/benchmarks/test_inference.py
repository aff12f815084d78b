"""benchmarks/inference.py: the infer section's models, and torch's BN folding used as its baseline."""
import numpy as np
import pytest

from benchmarks import __main__ as bench_main
from benchmarks import harness
from benchmarks import inference, train_step

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("key", ["mlp", "demo"])
def test_torch_folding_keeps_the_function(key):
    lib = train_step.Lib("torch")
    lib.mod.manual_seed(0)
    model, _ = train_step.build(lib, key)
    model.train()
    x = torch.from_numpy(train_step.inputs(train_step.MODELS[key][2])[0])
    with torch.no_grad():
        for _ in range(3):  # running statistics away from their initial (0, 1)
            model(x)
        model.eval()
        folded = inference.fold_bn(lib, model)
        assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in folded)
        np.testing.assert_allclose(folded(x).numpy(), model(x).numpy(), rtol=1e-4, atol=1e-4)


def test_section_runs_every_row(monkeypatch):
    assert bench_main.SECTIONS["infer"][0] == "inference"
    monkeypatch.setitem(harness.DEFAULTS, "reps", 1)
    monkeypatch.setitem(harness.DEFAULTS, "warmup", 0)
    monkeypatch.setitem(harness.DEFAULTS, "gap", 0.0)
    monkeypatch.setitem(harness.DEFAULTS, "target", 0.0)
    rows = inference.run(quick=True)
    assert [r["case"] for r in rows] == [
        "(a) MLP inference: eval() + no_grad", "(a) MLP inference, BN folded (fuse_bn)",
        "(c) demo CNN inference: eval() + no_grad", "(c) demo CNN inference, BN folded (fuse_bn)"]
    for r in rows:
        assert r["section"] == "infer" and r["threads"] == 2
        assert {"minigrad", "torch"} <= set(r["candidates"]) and r["candidates"]["minigrad"]["median"] > 0
    assert [label for label, _ in harness.headline({"infer": {"rows": rows}})] == [
        f"infer: {r['case']} (2 threads)" for r in rows]
