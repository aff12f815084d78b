"""``minigrad.onnx.export``: a model as an ONNX file, by tracing one forward pass (``torch.onnx.export``).

The model runs once on the example input, in eval mode's numerics and under ``no_grad``, while the
exporter sits in the engine's hook point (the one ``minigrad.profile`` uses): every op that runs
passes through ``Function.apply``, which hands it to the exporter with its input arrays. Each op
becomes one or a few ONNX nodes; arrays are matched to graph values by identity, so the model's
parameters and buffers become named initializers (``0.weight``, as in the state_dict), the example
input becomes the graph input, and any other array an op receives (a constant made inside
``forward``) is stored as a constant initializer. Shapes are the example's, except the dims named
in ``dynamic_axes`` (typically the batch: reshapes keep their first dim as "copy the input's").

Exported ops: Linear, Conv1d/Conv2d, BatchNorm (eval), LayerNorm, MaxPool2d, AvgPool2d,
AdaptiveAvgPool2d to a size dividing the input's (1×1: global pooling), the activations (ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU, SiLU,
Softplus), softmax/log_softmax, Flatten/reshape/permute/expand/cat/pad, basic indexing (ints,
slices, None, ...), matmul, the elementwise arithmetic, sum/mean, dtype casts; ConvTranspose2d, which
minigrad builds from these (pad, slicing, a conv of the flipped kernel), exports as they are. Dropout
in eval mode is the identity and leaves no node. An op whose inputs are all parameters or constants
is computed while tracing and stored as a constant (constant folding). Any other op raises
``UnsupportedOperatorError`` naming it, and so do training-mode BatchNorm and Dropout.

The ``onnx`` package builds and checks the file (``pip install onnx``, or ``minigrad[onnx]``); it is
imported only when ``export`` is called. To run the file, use onnxruntime (see the README).
"""
import math
import os

import numpy as np

from . import autograd
from .autograd import no_grad
from .functional import conv as C
from .functional import elementwise as E
from .functional import linalg as L
from .functional import normalization as N
from .functional import reduction as R
from .functional import shape as S
from .functional.dropout import MaskMul
from .tensor import Tensor

__all__ = ["export", "UnsupportedOperatorError"]

MIN_OPSET = 17  # LayerNormalization is an ONNX op from opset 17 on


class UnsupportedOperatorError(RuntimeError):
    """An op of the traced forward pass has no ONNX translation (``torch.onnx.errors.UnsupportedOperatorError``)."""


def _onnx():
    try:
        import onnx
    except ImportError as err:
        raise ImportError("minigrad.onnx.export builds the file with the 'onnx' package: pip install onnx "
                          "(or minigrad[onnx])") from err
    return onnx


def export(model, args, f, input_names=None, output_names=None, opset_version=MIN_OPSET, dynamic_axes=None):
    """Trace ``model(*args)`` once and write it to ``f`` (a path or a binary file) as an ONNX model.

    Parameters
    ----------
    model : Module (or any callable of Tensors)
        Put it in eval mode first (``model.eval()``): BatchNorm must use its running statistics and
        Dropout must be off; a training-mode BatchNorm or Dropout raises ``UnsupportedOperatorError``.
    args : Tensor or tuple of Tensors
        The example input(s); the graph's inputs get their shapes and dtypes.
    input_names, output_names : list of str
        Default ``input``/``output`` (with an index when there are several).
    opset_version : int
        17 (default) up to the newest opset the installed ``onnx`` knows.
    dynamic_axes : dict
        Input/output name → {axis: symbolic name} (or a list of axes), the dims that may change
        from the example's, e.g. ``{"input": {0: "batch"}, "output": {0: "batch"}}``.

    Returns the ``onnx.ModelProto``, already accepted by ``onnx.checker.check_model``.
    """
    onnx = _onnx()
    if not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version must be an int from {MIN_OPSET} to {onnx.defs.onnx_opset_version()} "
                         f"(the newest this onnx knows), got {opset_version!r}")
    args = args if isinstance(args, tuple) else (args,)
    if not args or not all(isinstance(a, Tensor) for a in args):
        raise TypeError("export: args must be a Tensor or a tuple of Tensors (the example inputs)")
    graph = _Graph(onnx, opset_version, _named_arrays(model), dynamic_axes or {})
    input_names = _names(input_names, "input", len(args))
    for name, a in zip(input_names, args):
        graph.add_input(name, a.data)
    if autograd.get_op_hook() is not None:
        raise RuntimeError("export: minigrad.profile() is active; trace outside the profile block")
    autograd.set_op_hook(graph)
    try:
        with no_grad():
            out = model(*args)
    finally:
        autograd.set_op_hook(None)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"export: the model must return a Tensor or a tuple of Tensors, got {type(out).__name__}")
    for name, o in zip(_names(output_names, "output", len(outs)), outs):
        graph.add_output(name, o.data)
    proto = graph.model(type(model).__name__)
    onnx.checker.check_model(proto, full_check=True)
    if isinstance(f, (str, os.PathLike)):
        onnx.save_model(proto, os.fspath(f))
    else:
        f.write(proto.SerializeToString())
    return proto


def _names(names, default, n):
    if names is None:
        return [default] if n == 1 else [f"{default}{i}" for i in range(n)]
    names = list(names)
    if len(names) != n or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"export: expected {n} non-empty {default} name(s), got {names!r}")
    return names


def _named_arrays(model):
    """id(array) → state_dict name, for the parameters and buffers of a Module."""
    named = {}
    if hasattr(model, "named_parameters"):
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if t is not None:
                named.setdefault(id(t.data), (name, t.data))
    return named


class _Graph:
    """The engine hook while tracing: runs each op, then records its ONNX nodes."""

    def __init__(self, onnx, opset, named, dynamic_axes):
        self.onnx, self.opset, self.named, self.dynamic_axes = onnx, opset, named, dynamic_axes
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self.values = {}  # id(ndarray) -> ONNX value name
        self.keep = []    # every array seen, so that no id is reused while tracing
        self.count = 0

    # ------------------------------------------------------------ the engine's hook
    def forward(self, cls, ctx, arrays, kwargs):
        if not self.traced(arrays):
            # constant folding (torch's do_constant_folding): an op of parameters and constants only,
            # such as a weight flipped or transposed inside forward, is computed now; where the
            # graph uses its output, that output is stored as a constant initializer
            out = cls.forward(ctx, *arrays, **kwargs)
            self.keep += [out, *arrays]
            return out
        convert = _CONVERTERS.get(cls)
        if convert is None:
            why = _REFUSED.get(cls, "no ONNX translation")
            raise UnsupportedOperatorError(f"Exporting the operator '{cls.__name__}' to ONNX opset version "
                                           f"{self.opset} is not supported: {why}")
        out = cls.forward(ctx, *arrays, **kwargs)
        self.keep += [out, *arrays]
        self.values[id(out)] = convert(self, out, *arrays, **kwargs)
        return out

    def backward(self, ctx, grad_out):
        # the hook is process-wide: a backward pass another thread runs meanwhile goes through unchanged
        return ctx.fn.backward(ctx, grad_out)

    # ------------------------------------------------------------ building blocks
    def traced(self, arrays):
        """Whether any of an op's inputs depends on the graph's inputs."""
        return any(self.traced(a) if isinstance(a, (tuple, list)) else
                   isinstance(a, np.ndarray) and id(a) in self.values for a in arrays)

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def value(self, a, dtype=None):
        """The ONNX name of array ``a``: a traced value, a parameter, or a new constant."""
        if isinstance(a, np.ndarray) and id(a) in self.values:
            return self.values[id(a)]
        if isinstance(a, np.ndarray) and id(a) in self.named:
            name, array = self.named.pop(id(a))
            self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
            self.values[id(a)] = name
            return name
        return self.const(np.asarray(a, dtype=dtype), "const")

    def const(self, array, hint):
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64), "shape")

    def node(self, op, inputs, **attrs):
        """Append one node; returns the name of its (single) output."""
        out = self.fresh(op)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], **attrs))
        return out

    def _info(self, name, array):
        dtype = self.onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
        axes = self.dynamic_axes.get(name, {})
        axes = axes if isinstance(axes, dict) else {a: f"{name}_dim{a}" for a in axes}
        shape = [axes.get(i, axes.get(i - array.ndim, n)) for i, n in enumerate(array.shape)]
        return self.onnx.helper.make_tensor_value_info(name, dtype, shape)

    def add_input(self, name, array):
        self.keep.append(array)
        self.values[id(array)] = name
        self.inputs.append(self._info(name, array))

    def add_output(self, name, array):
        self.nodes.append(self.onnx.helper.make_node("Identity", [self.value(array)], [name]))
        self.outputs.append(self._info(name, array))

    def model(self, name):
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 producer_name="minigrad")


# ---------------------------------------------------------------- one converter per Function
# A converter gets the graph, the op's output array and the arrays Function.apply passed to forward,
# and returns the ONNX name of the output.

def _unary(op):
    return lambda g, out, x, *_: g.node(op, [g.value(x)])


def _binary(op):
    return lambda g, out, a, b: g.node(op, [g.value(a, out.dtype), g.value(b, out.dtype)])


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _linear(g, out, x, weight, bias):
    if x.ndim == 2:
        inputs = [g.value(x), g.value(weight)] + ([g.value(bias)] if bias is not None else [])
        return g.node("Gemm", inputs, transB=1)
    y = g.node("MatMul", [g.value(x), g.node("Transpose", [g.value(weight)], perm=[1, 0])])
    return y if bias is None else g.node("Add", [y, g.value(bias)])


def _conv(g, out, x, weight, bias, stride, padding, dilation, groups):
    spatial = weight.ndim - 2
    if x.ndim != spatial + 2:
        raise UnsupportedOperatorError("Exporting an unbatched convolution to ONNX is not supported: add a batch dim")
    top, bottom, left, right = padding
    # minigrad runs a 1-D conv as a 2-D one of height 1: drop the height entries again
    pads = [left, right] if spatial == 1 else [top, left, bottom, right]
    inputs = [g.value(x), g.value(weight)] + ([g.value(bias)] if bias is not None else [])
    return g.node("Conv", inputs, strides=list(stride[-spatial:]), pads=pads, dilations=list(dilation[-spatial:]),
                  group=groups, kernel_shape=list(weight.shape[2:]))


def _pool_geometry(x, kernel_size, stride, padding):
    if x.ndim != 4:
        raise UnsupportedOperatorError("Exporting unbatched pooling to ONNX is not supported: add a batch dim")
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    return dict(kernel_shape=list(k), strides=list(s), pads=[p[0], p[1], p[0], p[1]])


def _max_pool(g, out, x, kernel_size, stride, padding, dilation, ceil_mode, indices):
    if indices is not None:
        raise UnsupportedOperatorError("Exporting max_pool2d with return_indices=True to ONNX is not supported")
    return g.node("MaxPool", [g.value(x)], dilations=list(_pair(dilation)), ceil_mode=int(ceil_mode),
                  **_pool_geometry(x, kernel_size, stride, padding))


def _avg_pool(g, out, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if divisor_override is not None:
        raise UnsupportedOperatorError("Exporting avg_pool2d with divisor_override to ONNX is not supported")
    return g.node("AveragePool", [g.value(x)], ceil_mode=int(ceil_mode), count_include_pad=int(count_include_pad),
                  **_pool_geometry(x, kernel_size, stride, padding))


def _batch_norm(g, out, x, weight, bias, running_mean, running_var, eps):
    C = x.shape[1]
    scale = g.value(weight) if weight is not None else g.const(np.ones(C, x.dtype), "ones")
    shift = g.value(bias) if bias is not None else g.const(np.zeros(C, x.dtype), "zeros")
    return g.node("BatchNormalization", [g.value(x), scale, shift, g.value(running_mean), g.value(running_var)],
                  epsilon=eps)


def _layer_norm(g, out, x, weight, bias, ndims, eps):
    scale = g.value(weight) if weight is not None else g.const(np.ones(x.shape[-ndims:], x.dtype), "ones")
    inputs = [g.value(x), scale] + ([g.value(bias)] if bias is not None else [])
    return g.node("LayerNormalization", inputs, axis=-ndims, epsilon=eps)


def _scalar(g, value, dtype):
    return g.const(np.asarray(value, dtype=dtype), "const")


def _gelu(g, out, x, approximate):
    if g.opset >= 20:
        return g.node("Gelu", [g.value(x)], approximate=approximate)
    dt, v = out.dtype, g.value(x)
    if approximate == "tanh":  # 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        cube = g.node("Mul", [g.node("Mul", [v, v]), v])
        inner = g.node("Add", [v, g.node("Mul", [cube, _scalar(g, 0.044715, dt)])])
        phi = g.node("Tanh", [g.node("Mul", [inner, _scalar(g, math.sqrt(2 / math.pi), dt)])])
    else:  # 0.5·x·(1 + erf(x/√2))
        phi = g.node("Erf", [g.node("Mul", [v, _scalar(g, 1 / math.sqrt(2), dt)])])
    half_x = g.node("Mul", [v, _scalar(g, 0.5, dt)])
    return g.node("Mul", [half_x, g.node("Add", [phi, _scalar(g, 1, dt)])])


def _softplus(g, out, x, beta, threshold):
    # (1/β)·softplus(β·x), and x itself where β·x > threshold, as PyTorch
    v, dt = g.value(x), out.dtype
    bx = g.node("Mul", [v, _scalar(g, beta, dt)])
    soft = g.node("Div", [g.node("Softplus", [bx]), _scalar(g, beta, dt)])
    return g.node("Where", [g.node("Greater", [bx, _scalar(g, threshold, dt)]), v, soft])


def _clamp(g, out, x, lo, hi):
    bounds = ["" if b is None else _scalar(g, b, out.dtype) for b in (lo, hi)]
    return g.node("Clip", [g.value(x)] + bounds)


def _reshape(g, out, x, new_shape):
    # an unchanged first dim (the batch) is written 0, "copy it from the input", so that a dynamic
    # batch works
    keep_first = x.ndim > 0 and len(new_shape) > 0 and new_shape[0] == x.shape[0]
    return g.node("Reshape", [g.value(x), g.ints([0, *new_shape[1:]] if keep_first else new_shape)])


def _permute(g, out, x, dims):
    return g.node("Transpose", [g.value(x)], perm=list(dims)) if dims else g.node("Identity", [g.value(x)])


def _expand(g, out, x, new_shape):
    return g.node("Expand", [g.value(x), g.ints(new_shape)])


def _cat(g, out, axis, *xs):
    return g.node("Concat", [g.value(x, out.dtype) if x.dtype == out.dtype else g.node(
        "Cast", [g.value(x)], to=g.onnx.helper.np_dtype_to_tensor_dtype(out.dtype)) for x in xs], axis=axis)


def _pad(g, out, x, widths, value):
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    return g.node("Pad", [g.value(x), g.ints(pads), _scalar(g, value, out.dtype)], mode="constant")


def _index(g, out, x, idx, basic):
    """Basic indexing: one Slice for the slices and ints, then Squeeze for the ints and Unsqueeze
    for the Nones. Slice bounds are resolved against the example's shape, so a slice of a dynamic
    axis keeps the example's numbers (``x[:, 1:]`` leaves axis 0 out of the Slice and stays dynamic)."""
    if not basic:
        raise UnsupportedOperatorError("Exporting the operator 'Index' with tensor or list indices to ONNX is "
                                       "not supported: only ints, slices, None and ... are exported")
    parts = idx if isinstance(idx, tuple) else (idx,)
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        rest = x.ndim - sum(p is not None for p in parts if p is not Ellipsis)
        parts = parts[:at] + (slice(None),) * rest + parts[at + 1:]
    parts += (slice(None),) * (x.ndim - sum(p is not None for p in parts))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = 0
    for p in parts:
        if p is None:
            unsqueeze.append(axis - len(squeeze) + len(unsqueeze))  # its position in the output
            continue
        if isinstance(p, slice):
            if p != slice(None):
                start, stop, step = p.indices(x.shape[axis])
                # a stop of -1 from indices() with a negative step means "past the first element"
                starts, ends, axes, steps = (starts + [start], ends + [stop if stop >= 0 else -2 ** 63],
                                             axes + [axis], steps + [step])
        else:
            i = int(p) % x.shape[axis]
            starts, ends, axes, steps = starts + [i], ends + [i + 1], axes + [axis], steps + [1]
            squeeze.append(axis)
        axis += 1
    y = g.value(x)
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        y = g.node("Squeeze", [y, g.ints(squeeze)])
    if unsqueeze:
        y = g.node("Unsqueeze", [y, g.ints(unsqueeze)])
    return y if y != g.value(x) else g.node("Identity", [y])


def _to_dtype(g, out, x, dtype):
    return g.node("Cast", [g.value(x)], to=g.onnx.helper.np_dtype_to_tensor_dtype(out.dtype))


def _reduce(op):
    def convert(g, out, x, axes, keepdim):
        if not axes:
            return g.node("Identity", [g.value(x)])
        # ReduceSum takes its axes as an input from opset 13, ReduceMean from opset 18
        if op == "ReduceSum" or g.opset >= 18:
            return g.node(op, [g.value(x), g.ints(axes)], keepdims=int(keepdim))
        return g.node(op, [g.value(x)], axes=list(axes), keepdims=int(keepdim))
    return convert


def _softmax(op):
    return lambda g, out, x, axis: g.node(op, [g.value(x)], axis=axis)


_CONVERTERS = {
    E.Add: _binary("Add"), E.Sub: _binary("Sub"), E.Mul: _binary("Mul"), E.Div: _binary("Div"),
    E.Pow: _binary("Pow"), E.Maximum: _binary("Max"), E.Minimum: _binary("Min"),
    E.Neg: _unary("Neg"), E.Exp: _unary("Exp"), E.Log: _unary("Log"), E.Sqrt: _unary("Sqrt"),
    E.Abs: _unary("Abs"), E.Sin: _unary("Sin"), E.Cos: _unary("Cos"), E.ReLU: _unary("Relu"),
    E.Sigmoid: _unary("Sigmoid"), E.Tanh: _unary("Tanh"),
    E.LeakyReLU: lambda g, out, x, slope: g.node("LeakyRelu", [g.value(x)], alpha=float(slope)),
    E.ELU: lambda g, out, x, alpha: g.node("Elu", [g.value(x)], alpha=float(alpha)),
    E.SiLU: lambda g, out, x: g.node("Mul", [g.value(x), g.node("Sigmoid", [g.value(x)])]),
    E.GELU: _gelu, E.Softplus: _softplus, E.Clamp: _clamp, E.ToDtype: _to_dtype,
    L.Linear: _linear, L.MatMul: lambda g, out, a, b: g.node("MatMul", [g.value(a), g.value(b)]),
    C.ConvNd: _conv, C.MaxPool2d: _max_pool, C.AvgPool2d: _avg_pool,
    N.BatchNormEval: _batch_norm, N.LayerNorm: _layer_norm,
    R.Sum: _reduce("ReduceSum"), R.Mean: _reduce("ReduceMean"),
    R.Softmax: _softmax("Softmax"), R.LogSoftmax: _softmax("LogSoftmax"),
    S.Reshape: _reshape, S.Permute: _permute, S.Expand: _expand, S.Cat: _cat, S.Pad: _pad, S.Index: _index,
}

# Ops refused with a reason.
_REFUSED = {
    N.BatchNormTrain: "BatchNorm in training mode normalizes with batch statistics; call model.eval()",
    MaskMul: "Dropout in training mode; call model.eval()",
    C.AdaptiveAvgPool2d: "ONNX has no adaptive pooling (an output size that divides the input size is exported)",
}
