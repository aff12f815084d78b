"""Module and Parameter: the containers that own a model's parameters, buffers and sub-modules.

Assigning a Parameter, a Module, or (after ``register_buffer``) a buffer to an attribute registers
it, so ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and ``zero_grad()`` find it by
walking the tree. Names and behaviour follow ``torch.nn.Module``.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import _device
from ..autograd import PassThrough, is_grad_enabled, zero_grads
from ..tensor import Tensor


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        array = data.data if isinstance(data, Tensor) else np.asarray(data)
        super().__init__(array, requires_grad=requires_grad, dtype=array.dtype)
        if isinstance(data, Tensor):
            self.data = data.data  # share storage, like torch.nn.Parameter(t)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _RemovableHandle:
    def __init__(self, hooks, key, flags=()):
        self.hooks, self.key, self.flags = hooks, key, flags

    def remove(self):
        self.hooks.pop(self.key, None)
        for keys in self.flags:  # the sets that mark how the hook is called
            keys.discard(self.key)


class _BackwardHooks:
    """One forward call's bookkeeping for full backward hooks: gradients are collected by tensor
    hooks on identity nodes around the inputs and outputs; the module's hooks run when the last
    input gradient arrives (or, if no input requires grad, when the last output gradient does),
    once per backward pass (again after ``retain_graph=True``). An input that requires grad but
    receives none (unused in the loss) means the hooks do not run, as in PyTorch."""

    def __init__(self, module):
        self.module = module

    @staticmethod
    def _hooked(t, hook):
        y = PassThrough.apply(t)
        y.register_hook(hook)
        return y

    def wrap_inputs(self, args):
        self.grad_input = [None] * len(args)
        self.pending_inputs = 0
        wrapped = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                wrapped[i] = self._hooked(a, self._input_hook(i))
                self.pending_inputs += 1
        self.n_inputs = self.pending_inputs
        return tuple(wrapped)

    def wrap_outputs(self, out):
        outs = out if isinstance(out, (tuple, list)) else (out,)
        self.grad_output = [None] * len(outs)
        self.pending_outputs = 0
        wrapped = list(outs)
        for j, o in enumerate(outs):
            if isinstance(o, Tensor) and o.requires_grad:
                wrapped[j] = self._hooked(o, self._output_hook(j))
                self.pending_outputs += 1
        self.n_outputs = self.pending_outputs
        if not isinstance(out, (tuple, list)):
            return wrapped[0]
        return type(out)(wrapped)

    def _output_hook(self, j):
        def hook(grad):
            self.grad_output[j] = grad
            self.pending_outputs -= 1
            if self.pending_outputs == 0 and self.pending_inputs == 0:
                self._fire()
        return hook

    def _input_hook(self, i):
        def hook(grad):
            self.grad_input[i] = grad
            self.pending_inputs -= 1
            if self.pending_inputs == 0:
                return self._fire(i)
        return hook

    def _fire(self, last=None):
        """Run the module's hooks; returns the replacement gradient for input ``last``, if any."""
        self.pending_inputs, self.pending_outputs = self.n_inputs, self.n_outputs  # the next pass
        replaced = None
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, tuple(self.grad_input), tuple(self.grad_output))
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(self.grad_input):
                raise RuntimeError(f"backward hook returned {len(result)} gradients, expected "
                                   f"{len(self.grad_input)} (one per positional input)")
            others = [k for k, g in enumerate(self.grad_input) if g is not None and k != last]
            if any(result[k] is not self.grad_input[k] for k in others):
                raise RuntimeError("a full backward hook can only replace grad_input of a module with "
                                   "one tensor input that requires grad")
            self.grad_input = list(result)
            replaced = result[last] if last is not None else None
        return replaced


class Module:
    """Base class of every layer and model: subclass it, create sub-modules and Parameters in
    ``__init__``, and write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_hooks_with_kwargs", set())  # keys of (pre-)hooks called with kwargs
        object.__setattr__(self, "_hooks_always_called", set())  # keys of forward hooks run on errors too
        object.__setattr__(self, "_backward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
            return self.forward(*args, **kwargs)  # no hooks (the usual case): ~1 µs less per layer on Zen 4
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result}.")
                    args, kwargs = result
                continue
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        backward_hooks = self._backward_hooks and is_grad_enabled() and _BackwardHooks(self)
        if backward_hooks:
            args = backward_hooks.wrap_inputs(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            for key in [k for k in self._forward_hooks if k in self._hooks_always_called]:
                self._call_forward_hook(key, args, kwargs, None)
            raise
        for key in list(self._forward_hooks):
            result = self._call_forward_hook(key, args, kwargs, out)
            if result is not None:
                out = result
        if backward_hooks:
            out = backward_hooks.wrap_outputs(out)
        return out

    def _call_forward_hook(self, key, args, kwargs, out):
        hook = self._forward_hooks[key]
        return hook(self, args, kwargs, out) if key in self._hooks_with_kwargs else hook(self, args, out)

    def _add_hook(self, hooks, hook, prepend, with_kwargs, always_call=False):
        key = object()
        hooks[key] = hook
        if prepend:
            hooks.move_to_end(key, last=False)
        if with_kwargs:
            self._hooks_with_kwargs.add(key)
        if always_call:
            self._hooks_always_called.add(key)
        return _RemovableHandle(hooks, key, (self._hooks_with_kwargs, self._hooks_always_called))

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``) after
        each forward; a return value other than None replaces the output. ``prepend`` runs it before
        the hooks already registered; ``always_call`` runs it (with output None) when forward raises."""
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs, always_call)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args) -> None or new args`` before each forward (``with_kwargs``:
        ``hook(module, args, kwargs) -> None or (new_args, new_kwargs)``)."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook):
        """``hook(module, grad_input, grad_output) -> None or new grad_input`` once the gradients
        with respect to the module's positional tensor inputs are computed. Both are tuples of
        Tensors (None where an input needs no gradient). Returning a new ``grad_input`` is supported
        for modules with one tensor input that requires grad."""
        key = object()
        self._backward_hooks[key] = hook
        return _RemovableHandle(self._backward_hooks, key)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign before Module.__init__() call")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind = "parameter" if name in params else "child module"
                raise TypeError(f"cannot assign '{type(value).__name__}' as {kind} '{name}' (None or the same kind expected)")
            (params if name in params else modules)[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Written out, not a loop over the three stores: layers read their parameters and buffers
        # this way on every call. (A store is missing only while __init__ has not run yet.)
        d = self.__dict__
        if name in d.get("_parameters", ()):
            return d["_parameters"][name]
        if name in d.get("_buffers", ()):
            return d["_buffers"][name]
        if name in d.get("_modules", ()):
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not a parameter (e.g. BatchNorm's ``running_mean``)."""
        if "." in name or name == "":
            raise KeyError(f"buffer name can't contain \".\" or be empty, got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' (Parameter or None required)")
        self._parameters[name] = param

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self, remove_duplicate=True):
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------ modes and helpers
    def train(self, mode=True):
        """Set training mode recursively (BatchNorm uses batch statistics, Dropout drops)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: BatchNorm uses running statistics, Dropout is the identity."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: drop them (default) or fill them with zeros."""
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn):
        """Call ``fn`` on every sub-module (children first) and on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """Cast floating-point parameters and buffers to a dtype (in place; returns self): ``to(dtype)``,
        ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` or keywords. The device must be the CPU.

        Differs from PyTorch: the positional forms are read from ``*args`` (``device``, ``dtype`` or a
        ``tensor``, in PyTorch's orders); ``non_blocking`` is keyword-only.
        """
        dtype = _device.to_args(args, dtype, device)
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f":
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad.data = t.grad.data.astype(dtype)
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # ------------------------------------------------------------ state
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, as detached tensors sharing memory (the
        Parameters themselves with ``keep_vars``), added to ``destination`` if given."""
        out = OrderedDict() if destination is None else destination
        for mod_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            dot = f"{mod_prefix}." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into parameters and buffers; returns ``(missing_keys, unexpected_keys)`` (a
        named tuple). With ``assign`` the parameters and buffers take the given arrays instead (no
        copy; they keep requires_grad). With ``strict=True`` any missing or unexpected key raises; a
        shape mismatch always raises.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and (missing or unexpected):
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.data if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != target.data.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {list(value.shape)} from "
                    f"checkpoint, the shape in current model is {list(target.data.shape)}."
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                value = value.data if isinstance(value, Tensor) else np.asarray(value)
                if assign:
                    target.data = value
                else:
                    target.data[...] = value
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not self._modules and "\n" not in extra:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
