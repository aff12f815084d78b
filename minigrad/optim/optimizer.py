"""Optimizer: parameter groups, per-parameter state, zero_grad/step and state_dict, as in torch.optim.

An optimizer holds ``param_groups`` (a list of dicts: ``'params'`` plus that group's hyper-parameters,
filled in from ``defaults``) and ``state`` (a dict from parameter to a dict of its buffers, e.g.
``{'step': 3, 'exp_avg': ndarray, ...}``). Subclasses write ``_update_group(group)``: the update of
every parameter of one group on the raw arrays ``p.data`` / ``p.grad.data``, in place — SGD and
Adam/AdamW through the fused one-pass kernels of ``minigrad._ops`` (``sgd_step``, ``adam_step``),
the others (Adagrad, RMSprop, Adadelta, Adamax, NAdam, RAdam) with in-place numpy ops whose temporaries
come from a per-(shape, dtype) scratch pool (``_buffer``), so a step allocates nothing after the first.
Gradients are never modified.
"""
import copy

import numpy as np

from ..autograd import enable_grad, zero_grads
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marker for a hyper-parameter that has no default (``lr`` of SGD in old PyTorch)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def check_nonnegative(group, *keys):
    """PyTorch's ``ValueError("Invalid <what>: <value>")`` for the first of ``keys`` whose value in
    ``group`` is negative (what: 'learning rate' for lr, 'epsilon value' for eps, else '<key> value')."""
    for key in keys:
        if not 0.0 <= group[key]:
            what = {"lr": "learning rate", "eps": "epsilon value"}.get(key, f"{key} value")
            raise ValueError(f"Invalid {what}: {group[key]}")


def check_betas(betas):
    """PyTorch's ``ValueError("Invalid beta parameter at index i: β")`` unless 0 ≤ β < 1."""
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def check_adam_family(group):
    """The checks Adam, Adamax, NAdam and RAdam share: lr, eps, betas, weight_decay."""
    check_nonnegative(group, "lr", "eps")
    check_betas(group["betas"])
    check_nonnegative(group, "weight_decay")


def lerp_(avg, g, weight, tmp):
    """avg ← avg + weight·(g − avg) in place, as PyTorch's ``lerp_`` evaluates β·avg + (1 − β)·g."""
    np.subtract(g, avg, out=tmp)
    tmp *= weight
    avg += tmp


def square_avg_(avg, g, beta, tmp):
    """avg ← β·avg + (1 − β)·g² in place (``tmp``: scratch shaped like g)."""
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta
    avg *= beta
    avg += tmp


class Optimizer:
    """Base class of all optimizers.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or dicts defining parameter groups (``{'params': [...], 'lr': ...}``).
    defaults : dict
        Hyper-parameter values used by groups that do not set them.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._validate(defaults)
        self.state = {}
        self.param_groups = []
        self._scratch = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        param_groups = list(params)
        if not param_groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def _validate(self, group):
        """Check one group's (or the defaults') hyper-parameters; subclasses raise ValueError."""

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group (a dict with ``'params'`` and optional hyper-parameters) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        self._validate(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------ gradients and step
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: drop them (default) or fill them with zeros."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` (optional) re-evaluates the model
        and returns the loss; it runs first, with grad mode on, and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError

    def _grad(self, p, weight_decay, maximize):
        """The gradient an update uses: −g if ``maximize``, plus the coupled L2 term λ·θ if
        ``weight_decay`` λ ≠ 0. ``p.grad`` itself is never modified (the result may be scratch
        slot 0, valid until the next call)."""
        param, g = p.data, p.grad.data
        if weight_decay != 0:
            decayed = np.multiply(param, weight_decay, out=self._buffer(param, 0))
            if maximize:
                decayed -= g
            else:
                decayed += g
            return decayed
        if maximize:
            return np.negative(g, out=self._buffer(param, 0))
        return g

    def _decayed_grad(self, p, group):
        """(θ, g): θ shrunk in place by (1 − lr·λ) if the group has ``decoupled_weight_decay`` (the
        Adam family), else λ·θ added to g by :meth:`_grad`."""
        weight_decay = group["weight_decay"]
        if group.get("decoupled_weight_decay") and weight_decay != 0:
            p.data *= 1 - group["lr"] * weight_decay
            weight_decay = 0
        return p.data, self._grad(p, weight_decay, group["maximize"])

    def _step_state(self, p, *names, **extra):
        """``p``'s state with ``'step'`` advanced by one; created on first use with ``'step'`` 0, a
        zero array shaped like ``p`` for each of ``names``, and a copy of each ``extra`` value (one
        per parameter: NAdam's ``mu_product`` array is updated in place)."""
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, **{n: np.zeros_like(p.data) for n in names},
                                     **{k: copy.copy(v) for k, v in extra.items()}}
        state["step"] += 1
        return state

    def _steps(self, group, *names, **extra):
        """``(θ, g, state)`` for each parameter of ``group`` that has a gradient: θ its array (updated
        in place), g the gradient the update uses (``maximize`` and weight decay applied, see
        :meth:`_decayed_grad`) and its state from :meth:`_step_state` (``names``, ``extra``). The
        per-parameter scaffolding of the numpy optimizers, so each shows only its own math."""
        for p in group["params"]:
            if p.grad is None:
                continue
            param, g = self._decayed_grad(p, group)
            yield param, g, self._step_state(p, *names, **extra)

    def _buffer(self, like, slot=0):
        """Scratch array shaped like ``like`` (reused across steps and parameters of that shape)."""
        key = (like.shape, like.dtype.str, slot)
        buf = self._scratch.get(key)
        if buf is None:
            buf = self._scratch[key] = np.empty_like(like)
        return buf

    # ------------------------------------------------------------ state
    def state_dict(self):
        """``{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index, ...]}]}``.

        Parameters are numbered in group order, as in PyTorch. Arrays are returned as Tensors that
        share memory with the live state (later steps change them; copy before training on).
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        params = [p for g in self.param_groups for p in g["params"]]
        state = {}
        for p in params:
            if p in self.state:
                state[index[id(p)]] = {
                    k: Tensor._wrap(v) if isinstance(v, np.ndarray) else v for k, v in self.state[p].items()
                }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and per-parameter state saved by ``state_dict`` (values are
        copied; floating-point arrays are cast to their parameter's dtype)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    "optimizer's group"
                )
        by_index = {}
        for group, saved in zip(self.param_groups, saved_groups):
            for p, i in zip(group["params"], saved["params"]):
                by_index[int(i)] = p
        state = {}
        for i, values in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                continue
            state[p] = {name: _restore(p, i, name, v) for name, v in values.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            self._validate(new)
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups


def _restore(p, index, name, value):
    """One saved state value for parameter ``p``: arrays copied (and cast), scalars as Python numbers."""
    if isinstance(value, Tensor):
        value = value.data
    if name == "step":
        return int(value.item() if isinstance(value, (np.ndarray, np.generic)) else value)  # PyTorch: a tensor
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return np.array(value, copy=True)  # a scalar buffer (NAdam's mu_product) keeps its dtype
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != p.data.shape:
        raise ValueError(
            f"loaded state for parameter {index} has '{name}' of shape {list(value.shape)}, "
            f"but the parameter has shape {list(p.data.shape)}"
        )
    dtype = p.data.dtype if value.dtype.kind == "f" else value.dtype
    return np.array(value, dtype=dtype, copy=True)
