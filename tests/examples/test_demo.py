"""examples/demo.py --quick: outputs exist and the loss went down; the shared helpers' failure paths."""
import json

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, datasets


@pytest.fixture(scope="module")
def quick_run(load_example, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    summary = load_example("demo").main(["--quick", "--quiet", "--out", str(out)])
    return out, summary


def test_quick_demo_writes_outputs(quick_run):
    out, summary = quick_run
    for name in ("demo_curves.png", "demo_cnn.safetensors", "demo_cnn.onnx", "demo_summary.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "demo_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "demo_summary.json").read_text())["test_acc"] == summary["test_acc"]
    assert "bundled Fashion-MNIST subset" in summary["data"]


def test_quick_demo_learns(quick_run):
    _, summary = quick_run
    losses = summary["batch_losses"]
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    assert summary["test_acc"] > 0.4  # chance is 0.1


def test_checkpoint_restores_the_model(load_example, quick_run):
    out, summary = quick_run
    demo = load_example("demo")
    model = demo.make_model()
    checkpoint = minigrad.load(out / "demo_cnn.safetensors")
    assert checkpoint["epoch"] == 1 and checkpoint["test_acc"] == summary["test_acc"]
    model.load_state_dict(checkpoint["model"])
    common = load_example("_common")
    train, test, _ = common.load_data(small=True)
    _, test_loader = common.loader_pair(train, test, batch_size=128)
    assert common.evaluate(model, test_loader, quiet=True)["acc"] == summary["test_acc"]


@pytest.mark.parametrize("fused", [False, True])
def test_trained_demo_cnn_in_onnxruntime_equals_minigrad(load_example, quick_run, tmp_path, fused):
    """The trained demo CNN (real running statistics), fused as `make demo` writes it and unfused,
    run by onnxruntime on a batch of another size than the export's example."""
    import minigrad.onnx
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    out, _ = quick_run
    model = load_example("demo").make_model()
    model.load_state_dict(minigrad.load(out / "demo_cnn.safetensors")["model"])
    model.eval()
    path = out / "demo_cnn.onnx"
    if not fused:
        path = tmp_path / "unfused.onnx"
        minigrad.onnx.export(model, minigrad.zeros(1, 1, 28, 28), path,
                             dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    with minigrad.no_grad():
        want = model(minigrad.tensor(x)).data
    np.testing.assert_allclose(session.run(None, {"input": x})[0], want, rtol=1e-4, atol=1e-5)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("BatchNormalization") == (0 if fused else 2) and ops.count("Conv") == 2


def test_missing_full_data_falls_back_with_notice(load_example, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", ((tmp_path / "offline").as_uri() + "/",))
    train, test, desc = load_example("_common").load_data()
    assert len(train) == 2000 and len(test) == 1000 and "subset" in desc
    printed = capsys.readouterr().out
    assert "NOTICE" in printed and "SMALL SUBSET" in printed and "apt-get install dataset-fashion-mnist" in printed


def test_missing_mnist_is_one_clear_error(load_example, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setattr(datasets.MNIST, "mirrors", ((tmp_path / "offline").as_uri() + "/",))
    common = load_example("_common")
    demo = load_example("demo")
    with pytest.raises(SystemExit) as exit_info:
        common.run(demo.main, ["--dataset", "mnist", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: MNIST file") and "Traceback" not in err


def test_nan_loss_stops_with_a_clear_message(load_example, capsys):
    common = load_example("_common")
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    x[20] = np.nan  # the second batch of 16 contains a NaN
    loader = DataLoader(TensorDataset(x, np.zeros(32, dtype=np.int64)), batch_size=16)
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(common.NonFiniteLoss, match=r"loss became nan at batch 2/2 \(learning rate 0.1\)"):
        common.train_epoch(model, loader, opt, desc="epoch 1", quiet=True)
    with pytest.raises(SystemExit):
        common.run(lambda argv: common.train_epoch(model, loader, opt, quiet=True))
    assert "error: train: the loss became nan" in capsys.readouterr().err


def test_evaluate_restores_mode_and_records_no_graph(load_example):
    common = load_example("_common")
    model = nn.Sequential(nn.Linear(4, 3))
    loader = DataLoader(TensorDataset(np.eye(4, dtype=np.float32), np.arange(4) % 3), batch_size=2)
    result = common.evaluate(model, loader, quiet=True)
    assert model.training and 0 <= result["acc"] <= 1 and np.isfinite(result["loss"])
    assert all(p.grad is None for p in model.parameters())


def test_smooth_is_a_trailing_moving_average(load_example):
    common = load_example("_common")
    np.testing.assert_allclose(common.smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_plot_batch_losses_draws_batches_and_their_average_against_epochs(load_example):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    common = load_example("_common")
    losses = np.random.default_rng(0).uniform(0, 3, 200)
    fig, (ax, ax_avg) = plt.subplots(1, 2)
    common.plot_batch_losses(ax, losses, 50)
    common.plot_batch_losses(ax_avg, losses, 50, per_batch=None, average="net")
    raw, avg = ax.get_lines()
    np.testing.assert_allclose(raw.get_xdata(), np.arange(1, 201) / 50)  # batch i ends at epoch i / 50
    np.testing.assert_array_equal(raw.get_ydata(), losses)
    np.testing.assert_allclose(avg.get_ydata(), common.smooth(losses, 20))  # a tenth of 200 batches
    (only,) = ax_avg.get_lines()
    assert only.get_label() == "net" and raw.get_label() == "per batch"
    np.testing.assert_allclose(only.get_ydata(), avg.get_ydata())
    plt.close(fig)
