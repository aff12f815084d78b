"""Write docs/api.md: the PyTorch API a learner of MLPs and CNNs meets, checked against minigrad.

    python docs/gen_api.py           # rewrite docs/api.md
    python docs/gen_api.py --check   # exit 1 if docs/api.md is out of date

The list below (``SECTIONS``) is the specification (issue 20); whether each entry is present is read
from the code, never written by hand. An entry is

- ``name``: an attribute of the section's module (``Module.apply`` reaches into a class);
- ``name(a, b)``: the same, and its signature must accept the keyword arguments ``a`` and ``b``;
- in the tensor-ops sections, ``name`` followed by where PyTorch has it: ``f`` a function of
  ``torch`` (minigrad: ``minigrad.name``), ``m`` a method or property of ``torch.Tensor``
  (minigrad: ``Tensor.name``); both are checked.

Where minigrad differs from PyTorch, the object's docstring says so in a paragraph starting
``Differs from PyTorch:``; that paragraph is copied into the table, so the note lives next to the code
(``NOTES`` holds the few for objects whose docstrings are not minigrad's).
tests/test_api_doc.py fails if docs/api.md and this output disagree, and (with PyTorch installed)
if an entry names something PyTorch does not have.
"""
import argparse
import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "api.md"

# (title, PyTorch module, minigrad module, entries)
SECTIONS = [
    ("Tensor creation", "torch", "minigrad", """
        tensor as_tensor from_numpy zeros ones full empty zeros_like ones_like full_like empty_like
        arange linspace eye rand randn randint randperm rand_like randn_like randint_like manual_seed
     """),
    ("dtype and device objects", "torch", "minigrad", """
        dtype device float32 float float64 double int64 long int32 int bool
     """),
    ("Saving, loading and seeding", "torch", "minigrad", """
        save load(map_location,weights_only) manual_seed utils.data.DataLoader
     """),
    ("Tensor conversion and attributes", "torch", "minigrad", """
        to:m cpu:m numpy:m item:m tolist:m float:m double:m long:m int:m bool:m type_as:m dtype:m
        device:m shape:m size:m dim:m numel:m
     """),
    ("Tensor math", "torch", "minigrad", """
        add:fm sub:fm mul:fm div:fm pow:fm neg:fm abs:fm exp:fm log:fm sqrt:fm sin:fm cos:fm
        tanh:fm sigmoid:fm relu:fm
        eq:fm ne:fm lt:fm le:fm gt:fm ge:fm isclose:fm allclose:fm equal:fm
        maximum:fm minimum:fm clamp:fm clip:fm sign:fm round:fm floor:fm ceil:fm matmul:fm
     """),
    ("Tensor reductions", "torch", "minigrad", """
        sum:fm mean:fm var:fm std:fm prod:fm max:fm min:fm argmax:fm argmin:fm amax:fm amin:fm
        logsumexp:fm norm:fm all:fm any:fm cumsum:fm
     """),
    ("Tensor shape ops", "torch", "minigrad", """
        view:m view_as:m reshape:fm reshape_as:m flatten:fm unflatten:fm squeeze:fm unsqueeze:fm
        permute:fm transpose:fm t:fm T:m expand:m expand_as:m repeat:m flip:fm roll:fm narrow:fm
        chunk:fm split:fm cat:f stack:f
     """),
    ("Tensor indexing", "torch", "minigrad", """
        gather:fm scatter:fm index_select:fm masked_fill:fm where:fm topk:fm sort:fm argsort:fm
        nonzero:fm
     """),
    ("In-place ops and autograd", "torch", "minigrad", """
        add_:m sub_:m mul_:m div_:m zero_:m fill_:m clamp_:m copy_:m
        detach:m clone:fm requires_grad_:m retain_grad:m register_hook:m backward:m
        no_grad:f enable_grad:f set_grad_enabled:f
     """),
    ("nn containers and Module", "torch.nn", "minigrad.nn", """
        Module Parameter Sequential ModuleList ModuleDict ParameterList ParameterDict
        Module.apply Module.named_modules(remove_duplicate) Module.modules Module.children
        Module.named_children Module.parameters Module.named_parameters(remove_duplicate) Module.buffers
        Module.named_buffers Module.requires_grad_ Module.zero_grad(set_to_none)
        Module.register_buffer(persistent) Module.register_forward_pre_hook(prepend,with_kwargs)
        Module.register_forward_hook(prepend,with_kwargs,always_call) Module.train Module.eval
        Module.state_dict(destination,prefix,keep_vars) Module.load_state_dict(strict,assign) Module.to
     """),
    ("nn layers", "torch.nn", "minigrad.nn", """
        Identity Flatten Unflatten Linear Bilinear Conv1d Conv2d ConvTranspose2d MaxPool1d MaxPool2d
        AvgPool1d AvgPool2d AdaptiveAvgPool2d AdaptiveMaxPool2d BatchNorm1d BatchNorm2d LayerNorm
        GroupNorm Dropout Dropout2d Embedding
     """),
    ("nn activations", "torch.nn", "minigrad.nn", """
        ReLU LeakyReLU ELU GELU SiLU Mish Sigmoid Tanh Softmax LogSoftmax Softplus Hardtanh PReLU
     """),
    ("nn losses", "torch.nn", "minigrad.nn", """
        CrossEntropyLoss(weight,ignore_index,label_smoothing) NLLLoss(weight,ignore_index) MSELoss
        L1Loss SmoothL1Loss(beta) HuberLoss(delta) BCELoss(weight) BCEWithLogitsLoss(pos_weight)
        KLDivLoss(log_target)
     """),
    ("nn.functional", "torch.nn.functional", "minigrad.nn.functional", """
        linear bilinear conv1d conv2d conv_transpose2d max_pool1d max_pool2d avg_pool1d avg_pool2d
        adaptive_avg_pool2d adaptive_max_pool2d batch_norm layer_norm group_norm dropout dropout2d
        embedding relu leaky_relu elu gelu silu mish sigmoid tanh softmax log_softmax softplus
        hardtanh prelu cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss
        binary_cross_entropy binary_cross_entropy_with_logits kl_div one_hot pad
     """),
    ("nn.init", "torch.nn.init", "minigrad.nn.init", """
        calculate_gain uniform_ normal_ constant_ ones_ zeros_ eye_ dirac_ xavier_uniform_
        xavier_normal_ kaiming_uniform_ kaiming_normal_ trunc_normal_ orthogonal_ sparse_
     """),
    ("nn.utils", "torch.nn.utils", "minigrad.nn.utils", """
        clip_grad_norm_ clip_grad_value_ parameters_to_vector vector_to_parameters
     """),
    ("optim", "torch.optim", "minigrad.optim", """
        Optimizer Optimizer.zero_grad(set_to_none) Optimizer.step(closure) Optimizer.add_param_group
        Optimizer.state_dict Optimizer.load_state_dict
        SGD Adam AdamW Adagrad RMSprop Adadelta Adamax NAdam RAdam
     """),
    ("optim.lr_scheduler", "torch.optim.lr_scheduler", "minigrad.optim.lr_scheduler", """
        LRScheduler StepLR MultiStepLR ExponentialLR CosineAnnealingLR CosineAnnealingWarmRestarts
        OneCycleLR LinearLR LambdaLR SequentialLR ReduceLROnPlateau
     """),
    ("data (torch.utils.data)", "torch.utils.data", "minigrad.data", """
        Dataset TensorDataset Subset ConcatDataset random_split
        DataLoader(batch_size,shuffle,sampler,drop_last,collate_fn,generator,num_workers)
        default_collate Sampler SequentialSampler RandomSampler SubsetRandomSampler
        WeightedRandomSampler BatchSampler
     """),
    ("datasets (torchvision.datasets)", "torchvision.datasets", "minigrad.data.datasets", """
        MNIST(root,train,transform,target_transform,download)
        FashionMNIST(root,train,transform,target_transform,download)
     """),
    ("transforms (torchvision.transforms)", "torchvision.transforms", "minigrad.data.transforms", """
        Compose ToTensor Normalize RandomCrop RandomHorizontalFlip
     """),
]

# Notes for objects whose docstrings are not minigrad's (numpy's dtype).
NOTES = {
    "minigrad.dtype": "dtypes are numpy's `np.dtype` objects (`minigrad.float32 == np.dtype('float32')`).",
}

# Arguments PyTorch has on many entries and minigrad leaves out everywhere, and why. The signature
# comparison (``signature_differences``) passes over them; the page lists them once.
OMITTED = {
    "out": "results are always new tensors (no ``out=`` to write into)",
    "layout": "tensors are always dense (strided)",
    "memory_format": "arrays are always C-contiguous",
    "pin_memory": "there is no accelerator to pin host memory for",
    "size_average": "deprecated in PyTorch in favour of ``reduction`` (minigrad's positions skip it)",
    "reduce": "deprecated in PyTorch in favour of ``reduction`` (minigrad's positions skip it)",
    "foreach": "picks one of PyTorch's implementations; minigrad has one",
    "fused": "picks one of PyTorch's implementations; minigrad has one",
    "capturable": "for CUDA graphs",
    "differentiable": "differentiating through an optimizer step is not supported",
}

# PyTorch's signature, where it cannot be read from the object: C builtins whose docstring gives none,
# or gives one that torch's argument parser does not follow (``Tensor.mul`` is documented as
# ``mul(value)`` but takes ``other=``; ``Tensor.round(2)`` is refused: ``decimals`` is keyword-only),
# each checked by calling torch 2.13; objects taking ``*args, **kwargs``; and torchvision (not a test
# dependency), from its documentation. One string per overload, in the docs' notation.
TORCH_SIGNATURES = {
    "torch.dtype": None,  # not constructed by users (minigrad's dtypes are numpy's, see its note)
    "torch.device": ["type, index=None"],
    "torch.nn.Module": [""],
    "torch.nn.Sigmoid": [""],
    "torch.nn.Tanh": [""],
    "torch.nn.Module.state_dict": ["*, destination=None, prefix='', keep_vars=False"],
    "torch.nn.Module.to": ["device=None, dtype=None, non_blocking=False", "dtype, non_blocking=False",
                           "tensor, non_blocking=False"],
    "torch.nn.functional.max_pool1d": [
        "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False"],
    "torch.nn.functional.max_pool2d": [
        "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False"],
    "torch.nn.functional.adaptive_max_pool2d": ["input, output_size, return_indices=False"],
    "torch.relu": ["input"],
    "torch.Tensor.relu": [""],
    "torch.Tensor.detach": [""],
    "torch.masked_fill": ["input, mask, value"],
    "torch.Tensor.to": ["dtype, non_blocking=False, copy=False, *, memory_format=torch.preserve_format",
                        "device=None, dtype=None, non_blocking=False, copy=False, "
                        "*, memory_format=torch.preserve_format",
                        "tensor, non_blocking=False, copy=False"],
    "torch.Tensor.mul": ["other"],
    "torch.Tensor.div": ["other, *, rounding_mode=None"],
    "torch.Tensor.matmul": ["other"],
    "torch.Tensor.mul_": ["other"],
    "torch.Tensor.div_": ["other, *, rounding_mode=None"],
    "torch.Tensor.type_as": ["other"],
    "torch.Tensor.narrow": ["dim, start, length"],
    "torch.Tensor.where": ["condition, other"],
    "torch.Tensor.roll": ["shifts, dims=None"],
    "torch.Tensor.nonzero": ["*, as_tuple=False"],
    "torch.Tensor.round": ["*, decimals=0"],
    "torch.Tensor.gather": ["dim, index, *, sparse_grad=False"],
    "torch.Tensor.sort": ["dim=-1, descending=False", "*, stable, dim=-1, descending=False"],
    "torch.Tensor.argsort": ["dim=-1, descending=False", "*, stable, dim=-1, descending=False"],
    "torch.Tensor.sum": ["*, dtype=None", "dim, keepdim=False, *, dtype=None"],
    "torch.Tensor.prod": ["*, dtype=None", "dim, keepdim=False, *, dtype=None"],
    "torch.Tensor.cumsum": ["dim, *, dtype=None"],
    "torch.as_tensor": ["data, *, dtype=None, device=None"],
    "torch.squeeze": ["input", "input, dim"],
    "torch.scatter": ["input, dim, index, src", "input, dim, index, value"],
    "torch.Tensor.scatter": ["dim, index, src", "dim, index, value"],
    # correction=None (PyTorch's schema; its docs write 1, which None means unless unbiased=False)
    "torch.var": ["input, dim=None, *, correction=None, keepdim=False", "input, dim, unbiased=True, keepdim=False",
                  "input, unbiased=True"],
    "torch.std": ["input, dim=None, *, correction=None, keepdim=False", "input, dim, unbiased=True, keepdim=False",
                  "input, unbiased=True"],
    "torch.Tensor.var": ["dim=None, *, correction=None, keepdim=False", "dim, unbiased=True, keepdim=False",
                         "unbiased=True"],
    "torch.Tensor.std": ["dim=None, *, correction=None, keepdim=False", "dim, unbiased=True, keepdim=False",
                         "unbiased=True"],
    "torchvision.datasets.MNIST": ["root, train=True, transform=None, target_transform=None, download=False"],
    "torchvision.datasets.FashionMNIST": [
        "root, train=True, transform=None, target_transform=None, download=False"],
    "torchvision.transforms.Compose": ["transforms"],
    "torchvision.transforms.ToTensor": [""],
    "torchvision.transforms.Normalize": ["mean, std, inplace=False"],
    "torchvision.transforms.RandomCrop": ["size, padding=None, pad_if_needed=False, fill=0, padding_mode='constant'"],
    "torchvision.transforms.RandomHorizontalFlip": ["p=0.5"],
}

_ENTRY = re.compile(r"^([\w.]+)(?:\(([\w,]*)\))?(?::([fm]+))?$")
_NOTE = re.compile(r"Differs from PyTorch:\s*(.*?)(?:\n\s*\n|$)", re.S)


class Entry:
    """One checklist line: what PyTorch calls it and which minigrad objects must exist."""

    def __init__(self, text, torch_module, module):
        match = _ENTRY.match(text)
        if not match:
            raise ValueError(f"bad entry {text!r}")
        self.name, kwargs, forms = match.groups()
        self.kwargs = kwargs.split(",") if kwargs else []
        self.torch_module, self.module = torch_module, module
        # (PyTorch path, minigrad module, attribute path inside it)
        self.targets = []
        for form in forms or "f":
            if form == "f":
                self.targets.append((f"{torch_module}.{self.name}", module, self.name))
            else:
                self.targets.append((f"{torch_module}.Tensor.{self.name}", module, f"Tensor.{self.name}"))

    def label(self):
        paths = [torch_path for torch_path, _, _ in self.targets]
        call = f"({', '.join(self.kwargs)})" if self.kwargs else ""
        return " / ".join(f"`{p}{call}`" for p in paths)


def resolve(module, path):
    """The object ``module.path`` (dotted), or None if a piece is missing."""
    try:
        obj = importlib.import_module(module)
    except ImportError:
        return None
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def missing_kwargs(obj, kwargs):
    """The names in ``kwargs`` that ``obj``'s signature does not accept."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return list(kwargs)
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return []
    return [k for k in kwargs if k not in params or params[k].kind == params[k].POSITIONAL_ONLY]


def note(obj):
    """The ``Differs from PyTorch:`` paragraph of ``obj``'s own docstring, on one line ('' if none)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if isinstance(obj, property):
        doc = obj.fget.__doc__
    match = _NOTE.search(inspect.cleandoc(doc)) if isinstance(doc, str) else None
    return " ".join(match.group(1).split()) if match else ""


# ------------------------------------------------------------------ signatures
_P, _K = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY


def _default_text(value):
    """A default as comparable text: ``1`` and ``1.0`` agree, so do ``(0.9, 0.999)`` and ``[0.9, 0.999]``."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_default_text(v) for v in value) + ")"
    return repr(value)


def parse_signature(text):
    """``[(name, kind, default)]`` from a documented argument list such as ``"input, dim=None, *,
    keepdim=False"`` (``kind`` an ``inspect.Parameter`` kind; ``default`` is None for a required
    argument, else comparable text)."""
    params, kind = [], _P
    for part in _split_top(text.replace("\\*", "*")):
        part = part.strip()
        if not part:
            continue
        if part == "*":
            kind = _K
        elif part.startswith("**"):
            params.append((part[2:], inspect.Parameter.VAR_KEYWORD, None))
        elif part.startswith("*"):
            params.append((part[1:], inspect.Parameter.VAR_POSITIONAL, None))
            kind = _K
        else:
            name, eq, default = (x.strip() for x in part.partition("="))
            if eq:
                try:
                    default = _default_text(ast.literal_eval(default))
                except (ValueError, SyntaxError):
                    pass  # a name such as torch.strided: kept as written
            params.append((name.split(":")[0].strip(), kind, default if eq else None))
    return params


def _split_top(text):
    """``text`` split at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def object_signature(obj):
    """``[(name, kind, default)]`` of a function, method (without ``self``) or class (its
    constructor); None where Python cannot introspect it (C builtins)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    return [(p.name, p.kind, None if p.default is p.empty else _default_text(p.default)) for p in params]


def documented_signatures(obj, name):
    """The overloads a C builtin's docstring documents (its first line ``name(args) -> ...`` and its
    ``.. function::`` lines), as argument-list strings."""
    lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    heads = lines[:1] + [line.strip()[len(".. function:: "):] for line in lines
                         if line.strip().startswith(".. function:: ")]
    found = []
    for line in heads:
        if not line.startswith(name + "("):
            continue
        depth = 0
        for i, ch in enumerate(line[len(name):], len(name)):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                found.append(line[len(name) + 1:i])
                break
    return found


def torch_signatures(torch_path):
    """PyTorch's overloads of ``torch_path`` as lists of ``(name, kind, default)``, or None when the
    object is not callable (a dtype, a property) or PyTorch is not installed."""
    if torch_path in TORCH_SIGNATURES:
        sigs = TORCH_SIGNATURES[torch_path]
        return None if sigs is None else [parse_signature(s) for s in sigs]
    obj = resolve_torch(torch_path)
    if obj is None or not callable(obj) or isinstance(obj, importlib.import_module("torch").dtype):
        return None
    params = object_signature(obj)
    if params is not None:
        return [params]
    name = torch_path.rpartition(".")[2]
    # pow(self, exponent) is the scalar-base overload; Tensor methods are documented without self
    sigs = [parse_signature(s) for s in documented_signatures(obj, name)]
    return [s for s in sigs if not (s and s[0][0] == "self")] or None


def resolve_torch(torch_path):
    """The PyTorch object at ``torch_path`` (a module path, then attributes), or None."""
    module, _, attr = torch_path.rpartition(".")
    while module and resolve(module, attr) is None and "." in module:
        module, _, head = module.rpartition(".")
        attr = f"{head}.{attr}"
    return resolve(module, attr) if module else None


def signature_differences(theirs, ours):
    """``{argument: what differs}`` between PyTorch's overloads ``theirs`` and minigrad's signature
    ``ours``. An argument differs when PyTorch takes it and minigrad does not, when minigrad adds it,
    or when no overload takes it the way minigrad does: at the same position (counted without the
    arguments in ``OMITTED`` and PyTorch's private ``_`` ones, which are passed over), in the same
    form (positional or keyword-only) and with the same default (or none; any default where an
    overload leaves the argument out). ``*args`` and ``**kwargs`` match by kind, whatever their
    names."""
    var = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    our_var = {kind for _, kind, _ in ours if kind in var}
    mine = [p for p in ours if p[1] not in var and p[0] not in OMITTED]
    forms = {}  # argument -> [(position or None, default)] over the overloads
    for overload in theirs:
        kept = [p for p in overload if p[0] not in OMITTED and not p[0].startswith("_")]
        for i, (name, kind, default) in enumerate(kept):
            if kind in var:
                if kind not in our_var:
                    forms.setdefault(f"*{name}" if kind == var[0] else f"**{name}", [])
                continue
            forms.setdefault(name, []).append((i if kind == _P else None, default))
    # an argument some overload leaves out may have any default here (max(input) and max(input, dim))
    optional = {name: sum(any(p[0] == name for p in o) for o in theirs) < len(theirs) for name in forms}
    diffs = {}
    for name, their_forms in forms.items():
        if name.startswith("*"):
            diffs[name.lstrip("*")] = "missing"
            continue
        match = [(j, p) for j, p in enumerate(mine) if p[0] == name]
        if not match:
            if not (inspect.Parameter.VAR_KEYWORD in our_var and all(i is None for i, _ in their_forms)):
                diffs[name] = "missing"
            continue
        j, (_, kind, default) = match[0]
        position = j if kind == _P else None
        positional_ok = inspect.Parameter.VAR_POSITIONAL in our_var and kind == _P
        if not any((i == position or positional_ok and i is not None) and
                   (d == default or d is None and optional[name])
                   for i, d in their_forms):
            i, d = their_forms[0]
            diffs[name] = (f"{'keyword-only' if position is None else f'position {position}'}, "
                           f"{'required' if default is None else f'default {default}'} (PyTorch: "
                           f"{'keyword-only' if i is None else f'position {i}'}, "
                           f"{'required' if d is None else f'default {d}'})")
    for name, kind, _ in mine:
        if name not in forms:
            diffs[name] = "not in PyTorch"
    return diffs


def undocumented_differences(entry):
    """``{(PyTorch path, argument): what differs}`` for every signature difference of ``entry`` that
    its ``Differs from PyTorch:`` note does not name (as ``argument`` or ``argument=...`` in
    backquotes). Needs PyTorch."""
    _, notes = status(entry)
    text = " ".join(notes)
    found = {}
    for torch_path, module, path in entry.targets:
        theirs = torch_signatures(torch_path)
        ours_obj = resolve(module, path)
        owner, _, attr = path.rpartition(".")
        raw = inspect.getattr_static(resolve(module, owner), attr) if owner else ours_obj
        if theirs is None or ours_obj is None or isinstance(raw, property) or not callable(ours_obj):
            continue
        ours = object_signature(ours_obj)
        if ours is None:
            continue
        for name, what in signature_differences(theirs, ours).items():
            if not re.search(rf"`{name}[`=]", text):
                found[(torch_path, name)] = what
    return found


def entries():
    for title, torch_module, module, text in SECTIONS:
        yield title, module, [Entry(t, torch_module, module) for t in text.split()]


def status(entry):
    """(present, notes) for one entry: present only if every target exists and takes the kwargs."""
    present, notes = True, []
    for _, module, path in entry.targets:
        owner, _, attr = path.rpartition(".")
        obj = resolve(module, path)
        if obj is None:
            present = False
            notes.append(f"missing: `{module}.{path}`")
            continue
        raw = inspect.getattr_static(resolve(module, owner), attr) if owner else obj
        lacking = missing_kwargs(obj, entry.kwargs)
        if lacking:
            present = False
            notes.append(f"missing argument{'s' * (len(lacking) > 1)} {', '.join(lacking)}")
        text = NOTES.get(f"{module}.{path}") or note(raw) or (note(obj) if raw is not obj else "")
        if text and text not in notes:
            notes.append(text)
    return present, notes


def render():
    lines = [
        "# The PyTorch API in minigrad",
        "",
        "Generated by `python docs/gen_api.py` from the code (do not edit by hand; "
        "`tests/test_api_doc.py` fails when this page and the code disagree).",
        "Each row is a PyTorch name a learner of MLPs and CNNs meets; ✓ means minigrad has it under the",
        "same name, with the listed keyword arguments, and ✗ that it is still missing. The third column",
        "says where minigrad differs from PyTorch (from the `Differs from PyTorch:` paragraph of the",
        "object's docstring). Names map as `torch` → `minigrad`, `torch.nn` → `minigrad.nn`,",
        "`torch.optim` → `minigrad.optim`, `torch.utils.data` → `minigrad.data`, `torchvision.datasets`",
        "→ `minigrad.data.datasets`, `torchvision.transforms` → `minigrad.data.transforms`.",
        "",
        "Every signature is compared with PyTorch 2.13's (argument names, order, positional or",
        "keyword-only, defaults; for each overload of a C builtin): where they differ, the notes name",
        "the argument, or `tests/test_api_doc.py` fails. These arguments are left out everywhere and",
        "not named again:",
        "",
    ]
    lines += [f"- `{name}`: {why}" for name, why in OMITTED.items()] + [""]
    total = done = 0
    body = []
    for title, module, section in entries():
        body += [f"## {title} (`{module}`)", "", "| PyTorch | | notes |", "|---|---|---|"]
        for entry in section:
            present, notes = status(entry)
            total += 1
            done += present
            body.append(f"| {entry.label()} | {'✓' if present else '✗'} | {'; '.join(notes)} |")
        body.append("")
    lines += [f"**{done} of {total}** entries present.", ""] + body
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python docs/gen_api.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
