"""minigrad.onnx.export: every file passes onnx.checker, and onnxruntime computes what minigrad
computes (float32 tolerances) for the book's MLP with BN and a model using every exportable layer,
fused and unfused; an op without a translation raises naming it. (The demo CNN: tests/examples/test_demo.py.)"""
import sys

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
import minigrad.onnx
from minigrad import nn

onnx = pytest.importorskip("onnx")  # test dependencies (pyproject extra "test")
ort = pytest.importorskip("onnxruntime")

# float32: outputs are O(1), and up to six layers (five renormalizing with BN's small ε) amplify
# the rounding differences of two implementations
FLOAT32 = dict(rtol=1e-4, atol=1e-4)


def run_onnx(path, *inputs, names=None):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = names or [i.name for i in session.get_inputs()]
    return session.run(None, {n: x.data if isinstance(x, minigrad.Tensor) else x for n, x in zip(names, inputs)})


def assert_exports(model, x, tmp_path, name="model", **kwargs):
    """Export, check the file, and compare onnxruntime with minigrad on the example input."""
    path = tmp_path / f"{name}.onnx"
    proto = minigrad.onnx.export(model, x, path, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    with minigrad.no_grad():
        want = model(*(x if isinstance(x, tuple) else (x,)))
    want = want if isinstance(want, tuple) else (want,)
    got = run_onnx(path, *(x if isinstance(x, tuple) else (x,)))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.data.dtype and g.shape == w.data.shape
        np.testing.assert_allclose(g, w.data, **FLOAT32)
    return proto


def with_statistics(model, x):
    """Running statistics and γ, β away from their initial values, then eval mode."""
    rng = np.random.default_rng(3)
    model.train()
    with minigrad.no_grad():
        for _ in range(3):
            model(x * 2.0 + 0.5)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)) and getattr(m, "weight", None) is not None:
            m.weight.data[...] = rng.uniform(0.5, 2.0, m.weight.shape)
            m.bias.data[...] = rng.standard_normal(m.bias.shape)
    return model.eval()


@pytest.mark.parametrize("norm", [nn.BatchNorm1d, nn.BookBatchNorm1d])
@pytest.mark.parametrize("fused", [False, True])
def test_book_mlp_with_bn(tmp_path, norm, fused):
    """The book's 784-[100]×5-10 net with Linear → BN → ReLU (examples/_common.py:mlp)."""
    layers, width = [], 784
    for _ in range(5):
        layers += [nn.Linear(width, 100), norm(100), nn.ReLU()]
        width = 100
    model = nn.Sequential(*layers, nn.Linear(100, 10))
    x = minigrad.randn(16, 784)
    with_statistics(model, x)
    model = nn.utils.fuse_bn(model) if fused else model
    proto = assert_exports(model, x, tmp_path)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("BatchNormalization") == (0 if fused else 5) and ops.count("Gemm") == 6
    # parameters and buffers keep their state_dict names
    assert {i.name for i in proto.graph.initializer} == set(model.state_dict()) - {
        k for k in model.state_dict() if k.endswith("num_batches_tracked")}


class Everything(nn.Module):
    """Every exportable layer and function once, on (N, 3, 12, 12) input; two outputs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv_g = nn.Conv2d(8, 8, 3, stride=(1, 2), padding=1, groups=2)
        self.avg = nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False)
        self.avg_div = nn.AvgPool2d(3, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.conv1d = nn.Conv1d(8, 6, 3, padding=2, dilation=2)
        self.bn1d = nn.BatchNorm1d(6, affine=False)
        self.ln = nn.LayerNorm(6)
        self.fc_seq = nn.Linear(6, 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 4, bias=False), nn.BatchNorm1d(4), nn.Sigmoid(),
                                  nn.Dropout(0.5))
        self.acts = nn.Sequential(nn.Tanh(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SiLU(), nn.Softplus(beta=2.0, threshold=1.0),
                                  nn.GELU(approximate="tanh"), nn.GELU())
        self.proj = nn.Parameter(minigrad.randn(10, 5))
        self.up = nn.ConvTranspose2d(8, 2, 3, stride=2, padding=1, output_padding=1)
        self.drop2d = nn.Dropout2d(0.1)
        self.out = nn.Sequential(nn.Linear(5, 5), nn.LogSoftmax(dim=1))

    def forward(self, x):
        h = self.pool(F.relu(self.bn(self.conv(x))))               # (N, 8, 6, 6)
        h = self.drop2d(self.conv_g(h))                            # (N, 8, 6, 3)
        a = self.gap(self.avg_div(self.avg(h)))                    # (N, 8, 1, 1)
        seq = self.bn1d(self.conv1d(h.reshape(h.shape[0], 8, 18)))  # (N, 6, 18)
        t = self.fc_seq(F.gelu(self.ln(seq.permute(0, 2, 1))))     # (N, 18, 4)
        u = t.mean(dim=1) - t.sum(dim=1, keepdim=True).squeeze(1) / 18.0
        u = u + self.up(h)[:, :, 1::3, None, :-1].mean(dim=(1, 2, 3, 4))[:, None]  # (N, 2, 12, 6) → (N, 1)
        v = self.acts(self.head(a))                                # (N, 4)
        w = F.cat([u, v], dim=1)                                   # (N, 8)
        z = F.pad(w, (1, 1)) @ self.proj * 0.5                      # (N, 5)
        z = (z + z.exp().sqrt().log().abs() - F.sin(-z) * F.cos(z)).clamp(-3.0, 3.0)
        z = F.maximum(z, F.minimum(z, z.expand(z.shape[0], 5) ** 2)) / 2.0
        return self.out(z), F.softmax(z.to(minigrad.float64), dim=-1)


@pytest.mark.parametrize("fused", [False, True])
def test_a_model_with_every_exportable_layer(tmp_path, fused):
    model = Everything()
    x = minigrad.randn(3, 3, 12, 12)
    with_statistics(model, x)
    model = nn.utils.fuse_bn(model) if fused else model
    proto = assert_exports(model, x, tmp_path, input_names=["image"], output_names=["log_probs", "probs"])
    assert [o.name for o in proto.graph.output] == ["log_probs", "probs"]
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "LayerNormalization",
            "Gemm", "MatMul", "Concat", "Transpose", "Reshape", "LogSoftmax", "Softmax", "Erf", "Cast",
            "Slice", "Unsqueeze"} <= ops


@pytest.mark.parametrize("stride, padding, output_padding, groups, dilation",
                         [(1, 0, 0, 1, 1), (2, 1, 1, 2, 1), (3, 2, 0, 1, 2)])
def test_conv_transpose2d(tmp_path, stride, padding, output_padding, groups, dilation):
    model = nn.ConvTranspose2d(4, 6, 3, stride=stride, padding=padding, output_padding=output_padding,
                               groups=groups, dilation=dilation).eval()
    assert_exports(model, minigrad.randn(2, 4, 5, 7), tmp_path)


def test_basic_indexing(tmp_path):
    class Slices(nn.Module):
        def forward(self, x):                                              # x: (3, 4, 6, 6)
            a = x[:, 1:, ::-2, None][..., 0, :]                            # (3, 3, 3, 6)
            return a * 2.0 + x[-1, None, ..., ::3][:, 1:, :3, :1], x[...]  # + (1, 3, 3, 1)
    proto = assert_exports(Slices(), minigrad.randn(3, 4, 6, 6), tmp_path)
    assert {"Slice", "Squeeze", "Unsqueeze"} <= {n.op_type for n in proto.graph.node}

    class Gather(nn.Module):
        def forward(self, x):
            return x[[0, 2]]
    with pytest.raises(minigrad.onnx.UnsupportedOperatorError, match="'Index' with tensor or list indices"):
        minigrad.onnx.export(Gather(), minigrad.randn(3, 2), tmp_path / "x.onnx")


def test_ops_on_parameters_alone_are_folded(tmp_path):
    class Folded(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(minigrad.randn(5, 3))

        def forward(self, x):
            return x @ (self.w.t().flip(0) * 2.0).exp()  # computed once at export, stored as a constant
    proto = assert_exports(Folded(), minigrad.randn(4, 3), tmp_path)
    assert [n.op_type for n in proto.graph.node] == ["MatMul", "Identity"]


def test_gelu_from_opset_20_is_one_node(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 4), nn.GELU(approximate="tanh"))
    proto = assert_exports(model, minigrad.randn(5, 4), tmp_path, opset_version=20)
    assert [n.op_type for n in proto.graph.node].count("Gelu") == 2


def test_dynamic_batch(tmp_path):
    model = with_statistics(nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                                          nn.Linear(4 * 4 * 4, 3)), minigrad.randn(4, 1, 6, 6))
    path = tmp_path / "dyn.onnx"
    minigrad.onnx.export(model, minigrad.randn(1, 1, 6, 6), path,
                         dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    x = minigrad.randn(7, 1, 6, 6)
    with minigrad.no_grad():
        np.testing.assert_allclose(run_onnx(path, x)[0], model(x).data, **FLOAT32)


def test_unsupported_op_raises_naming_it(tmp_path):
    class Picks(nn.Module):
        def forward(self, x):
            return x.max(dim=1)[0]
    with pytest.raises(minigrad.onnx.UnsupportedOperatorError, match="operator 'MaxAlongDim' to ONNX opset version 17"):
        minigrad.onnx.export(Picks(), minigrad.randn(2, 3), tmp_path / "x.onnx")
    with pytest.raises(minigrad.onnx.UnsupportedOperatorError, match="'AdaptiveAvgPool2d'.*no adaptive pooling"):
        minigrad.onnx.export(nn.AdaptiveAvgPool2d(4), minigrad.randn(1, 2, 6, 6), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("layer, op", [(nn.BatchNorm1d(4), "BatchNormTrain"), (nn.Dropout(0.5), "MaskMul")])
def test_training_mode_layers_are_refused(tmp_path, layer, op):
    model = nn.Sequential(nn.Linear(3, 4), layer)
    with pytest.raises(minigrad.onnx.UnsupportedOperatorError, match=fr"'{op}'.*call model\.eval\(\)"):
        minigrad.onnx.export(model, minigrad.randn(5, 3), tmp_path / "x.onnx")
    assert minigrad.is_grad_enabled() and minigrad.autograd.get_op_hook() is None  # state restored


def test_bad_arguments(tmp_path):
    model = nn.Linear(3, 2).eval()
    with pytest.raises(ValueError, match="opset_version must be an int from 17"):
        minigrad.onnx.export(model, minigrad.randn(1, 3), tmp_path / "x.onnx", opset_version=13)
    with pytest.raises(TypeError, match="args must be a Tensor or a tuple of Tensors"):
        minigrad.onnx.export(model, np.zeros((1, 3), np.float32), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="expected 1 non-empty input name"):
        minigrad.onnx.export(model, minigrad.randn(1, 3), tmp_path / "x.onnx", input_names=["a", "b"])


def test_missing_onnx_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        minigrad.onnx.export(nn.Linear(2, 2), minigrad.randn(1, 2), tmp_path / "x.onnx")
