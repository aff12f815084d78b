"""The paper/book-reproduction examples' --quick runs: outputs exist, the loss went down (read back from
the JSON they write), and one structural property of each experiment's numbers."""
import json

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import nn
from minigrad.autograd.functional import hessian
from minigrad.tensor import Tensor


PNG = b"\x89PNG\r\n\x1a\n"


def quick(load_example, name, tmp_path_factory):
    out = tmp_path_factory.mktemp(name)
    summary = load_example(name).main(["--quick", "--quiet", "--out", str(out)])
    assert (out / f"{name}.png").read_bytes()[:8] == PNG
    saved = json.loads((out / f"{name}.json").read_text())
    assert "bundled Fashion-MNIST subset" in saved["data"]
    return summary, saved


def went_down(losses, k=5):
    losses = np.asarray(losses)
    assert np.all(np.isfinite(losses))
    return losses[-k:].mean() < losses[:k].mean()


def test_simple_convnet(load_example, tmp_path_factory):
    summary, saved = quick(load_example, "simple_convnet", tmp_path_factory)
    assert went_down(saved["batch_losses"])
    assert saved["test_acc"] == summary["test_acc"] > 0.3  # chance is 0.1
    model = load_example("simple_convnet").make_model()
    conv, linear = model[0], model[4]  # the book's layer shapes: 30 filters 5×5, 30·12·12 → 100
    assert conv.weight.shape == (30, 1, 5, 5) and linear.weight.shape == (100, 4320)


def test_bn_paper_mnist(load_example, tmp_path_factory):
    _, saved = quick(load_example, "bn_paper_mnist", tmp_path_factory)
    for name, rec in saved["nets"].items():
        assert went_down(rec["losses"], k=20), name
        pct = np.asarray(rec["percentiles"])
        assert pct.shape == (len(rec["steps"]), 3)
        assert np.all(pct[:, 0] < pct[:, 1]) and np.all(pct[:, 1] < pct[:, 2])  # 15th < 50th < 85th: a spread
    # BN trains much faster from the same init: above the plain net at the last evaluation
    assert saved["nets"]["bn"]["test_acc"][-1] > saved["nets"]["plain"]["test_acc"][-1]


def test_noisy_bn(load_example, tmp_path_factory):
    _, saved = quick(load_example, "noisy_bn", tmp_path_factory)
    for name in ("bn", "noisy_bn"):  # at the default lr 0.5 the plain net may stall or diverge (a result)
        assert went_down(saved["nets"][name]["batch_losses"]), name
    final = saved["final"]
    assert min(final["bn"]["test_acc"], final["noisy_bn"]["test_acc"]) > final["plain"]["test_acc"]
    # the noise layer sits after every BN and changes the training run, not the architecture
    module = load_example("noisy_bn")
    noisy = module.make_net("noisy_bn", 3)
    assert sum(isinstance(m, module.DistributionShift) for m in noisy.modules()) == 3
    assert saved["nets"]["bn"]["batch_losses"] != saved["nets"]["noisy_bn"]["batch_losses"]


def test_distribution_shift_noise_statistics(load_example):
    shift = load_example("noisy_bn").DistributionShift()
    a = Tensor(np.zeros((4000, 3), dtype=np.float32))
    m = shift(a).data  # a = 0 leaves only the additive part m ~ U(μ ± 0.1) with one μ per unit
    assert np.all(m.max(axis=0) - m.min(axis=0) <= 0.2 + 1e-6)
    assert np.all(np.abs(m.mean(axis=0)) <= 0.5 + 0.01)
    ones = shift(Tensor(np.ones((4000, 3), dtype=np.float32))).data  # s + m, s ~ N(σ ∈ [1, 1.25], 0.1)
    assert ones.std(axis=0) == pytest.approx(np.full(3, np.sqrt(0.1**2 + 0.2**2 / 12)), rel=0.1)
    assert np.all((ones.mean(axis=0) >= 1 - 0.5 - 0.02) & (ones.mean(axis=0) <= 1.25 + 0.5 + 0.02))
    shift.eval()
    assert shift(a) is a


def test_bn_smoothness(load_example, tmp_path_factory):
    _, saved = quick(load_example, "bn_smoothness", tmp_path_factory)
    for name, rec in saved["nets"].items():
        assert went_down(rec["losses"]), name
        for probe in rec["probes"]:
            assert len(probe["losses"]) == len(probe["grad_changes"]) == len(saved["etas"])
            assert probe["beta"] >= 0 and min(probe["grad_changes"]) >= 0
        steps = [h["step"] for h in rec["hessian"]]
        assert steps == list(range(0, saved["steps"], 30)) and all(np.isfinite(h["top_eigenvalue"])
                                                                  for h in rec["hessian"]), name
    # probes leave the run untouched: the recorded loss at a probe step is the loss the step then trains on
    rec = saved["nets"]["bn"]
    for probe in rec["probes"]:
        assert probe["loss"] == pytest.approx(rec["losses"][probe["step"]], rel=1e-5)


def test_top_hessian_eigenvalue_is_that_of_the_full_hessian(load_example):
    """Power iteration on HVPs leaves the model as it was and finds the largest-magnitude eigenvalue
    of the Hessian formed in full (autograd.functional.hessian) for a small BN net."""
    module = load_example("bn_smoothness")
    minigrad.manual_seed(0)
    model = load_example("_common").mlp([4], in_features=3, classes=3, norm=nn.BatchNorm1d).double()
    x, y = minigrad.randn(12, 3, dtype=np.float64), Tensor(np.arange(12) % 3)
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    lam = module.top_hessian_eigenvalue(model, x, y, iters=300)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k], err_msg=k)
    params = [p.detach() for p in model.parameters()]

    def loss(w1, b1, gamma, beta, w2, b2):  # the model's computation (Linear, BN, ReLU, Linear, CE)
        h = F.relu(F.batch_norm(F.linear(x, w1, b1), None, None, gamma, beta, training=True))
        return F.cross_entropy(F.linear(h, w2, b2), y)

    assert loss(*params).item() == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-12)
    blocks = hessian(loss, tuple(params))
    sizes = [p.numel() for p in params]
    H = np.block([[blocks[i][j].data.reshape(sizes[i], sizes[j]) for j in range(len(params))]
                  for i in range(len(params))])
    eig = np.linalg.eigvalsh(H)
    assert lam == pytest.approx(eig[np.argmax(np.abs(eig))], rel=1e-6)


def test_probe_leaves_parameters_and_running_stats_unchanged(load_example):
    module = load_example("bn_smoothness")
    minigrad.manual_seed(0)
    model = load_example("_common").mlp([8, 8], in_features=5, classes=3, norm=nn.BatchNorm1d)
    x, y = minigrad.randn(16, 5), Tensor(np.arange(16) % 3)
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    result = module.probe(model, x, y, [0.01, 0.1])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k], err_msg=k)
    assert all(p.grad is None for p in model.parameters())
    # the loss moved along −g: a small step lowers it, and the gradient changes with the step
    assert result["losses"][0] < result["loss"] and 0 < result["grad_changes"][0] < result["grad_changes"][1]


def test_bn_train_eval(load_example, tmp_path_factory):
    _, saved = quick(load_example, "bn_train_eval", tmp_path_factory)
    results = saved["results"]
    assert len(results) == 2 * 3 * 4
    assert all(r["loss_end"] < r["loss_start"] for r in results)
    stale = {(r["convention"], r["batch_size"], r["momentum"]): r["stale"] for r in results}
    for conv in ("pytorch", "book"):
        for b in (8, 32, 128):
            # a smaller momentum forgets the initial buffers more slowly: the running mean is staler
            assert stale[conv, b, 0.001] > stale[conv, b, 0.1]
    # recalibration does not depend on the old buffers: same training → same recalibrated accuracy
    for b in (8, 32, 128):
        accs = {r["recalibrated_acc"] for r in results if r["batch_size"] == b and r["convention"] == "pytorch"}
        assert len(accs) == 1


def test_book_momentum_matches_pytorch_convention(load_example):
    module = load_example("bn_train_eval")
    assert module.book_momentum(0.1) == 0.9 and module.book_momentum(None) is None
    book = module.make_net("book", 0.01)
    assert [m.momentum for m in book.modules() if isinstance(m, nn.BookBatchNorm1d)] == [0.99, 0.99]
