"""docs/api.md is generated from the code (docs/gen_api.py) and its checklist names PyTorch's API.

The page must equal a fresh rendering, so an entry that appears or disappears in minigrad, or a
``Differs from PyTorch:`` note that changes, fails here until the page is regenerated. Every entry
must name something PyTorch has, in the forms listed (function of ``torch``, method of
``torch.Tensor``) and with the keyword arguments listed, so the checklist cannot drift from the API
it copies; and its signature must equal PyTorch's (names, order, positional or keyword-only,
defaults) wherever its note does not name the difference.
"""
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

import minigrad

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
gen_api = importlib.util.module_from_spec(spec)
sys.modules["gen_api"] = gen_api
spec.loader.exec_module(gen_api)

ENTRIES = [e for _, _, section in gen_api.entries() for e in section]


def test_api_md_is_generated_from_the_code():
    assert gen_api.OUT.read_text(encoding="utf-8") == gen_api.render(), (
        "docs/api.md is out of date: run python docs/gen_api.py"
    )


def test_present_means_every_target_resolves():
    present = [e for e in ENTRIES if gen_api.status(e)[0]]
    assert present, "no entry found at all: the resolver is broken"
    for entry in present:
        for _, module, path in entry.targets:
            assert gen_api.resolve(module, path) is not None, path


def test_status_reports_a_missing_name_and_a_missing_argument():
    absent = gen_api.Entry("no_such_op:fm", "torch", "minigrad")
    assert gen_api.status(absent) == (False, ["missing: `minigrad.no_such_op`",
                                              "missing: `minigrad.Tensor.no_such_op`"])
    lacking = gen_api.Entry("zeros(no_such_kwarg)", "torch", "minigrad")
    assert gen_api.status(lacking) == (False, ["missing argument no_such_kwarg"])


def test_differs_note_is_read_from_the_docstring():
    def f():
        """Does a thing.

        Differs from PyTorch: returns a list,
        not a tuple.

        More text.
        """
    assert gen_api.note(f) == "returns a list, not a tuple."


def _torch_object(torch_path):
    """PyTorch's object at ``torch_path``; None for torchvision, which is not a test dependency."""
    if torch_path.startswith("torchvision."):
        return None
    pytest.importorskip("torch")
    obj = gen_api.resolve_torch(torch_path)
    assert obj is not None, f"{torch_path} is not in PyTorch"
    return obj


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.label().replace("`", ""))
def test_entry_exists_in_pytorch(entry):
    """Every entry names something PyTorch has and takes its listed keyword arguments; torchvision's
    entries are checked against its documented signatures (``TORCH_SIGNATURES``)."""
    for torch_path, _, _ in entry.targets:
        obj = _torch_object(torch_path)
        if obj is None:
            documented = {name for sig in gen_api.torch_signatures(torch_path) for name, _, _ in sig}
            assert set(entry.kwargs) <= documented, torch_path
        elif entry.kwargs:
            assert gen_api.missing_kwargs(obj, entry.kwargs) == [], torch_path


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.label().replace("`", ""))
def test_signature_matches_pytorch_or_the_difference_is_documented(entry):
    """Argument names, order, kinds and defaults equal PyTorch's, except where the entry's
    ``Differs from PyTorch:`` note names the argument (or it is in ``gen_api.OMITTED``)."""
    for torch_path, _, _ in entry.targets:
        _torch_object(torch_path)
    undocumented = gen_api.undocumented_differences(entry)
    assert not undocumented, "\n".join(f"{path}: `{name}` {what}" for (path, name), what in undocumented.items())


def test_no_callable_entry_is_passed_over():
    """Each callable PyTorch entry has a signature to compare with (read from the object, its
    docstring or the table); only ``torch.dtype`` is listed as not compared."""
    pytest.importorskip("torch")
    passed_over = [path for e in ENTRIES for path, _, _ in e.targets
                   if not path.startswith("torchvision.") and gen_api.torch_signatures(path) is None
                   and callable(gen_api.resolve_torch(path))]
    assert passed_over == ["torch.dtype"]


def _sig(text):
    return gen_api.parse_signature(text)


def _ours(fn):
    return gen_api.object_signature(fn)


def test_signature_differences_finds_each_kind_of_difference():
    same = lambda input, dim=None, keepdim=False, *, dtype=None: None  # noqa: E731  (only their signatures count)
    renamed = lambda x, dim=None, keepdim=False, *, dtype=None: None  # noqa: E731
    keyword_dim = lambda input, *, dim=None, keepdim=False, dtype=None: None  # noqa: E731
    other_default = lambda input, dim=0, keepdim=False, *, dtype=None: None  # noqa: E731
    required = lambda input, dim, keepdim=False, *, dtype=None: None  # noqa: E731
    theirs = [_sig("input, dim=None, keepdim=False, *, dtype=None, out=None")]
    assert gen_api.signature_differences(theirs, _ours(same)) == {}
    assert set(gen_api.signature_differences(theirs, _ours(renamed))) == {"input", "x"}
    diffs = gen_api.signature_differences(theirs, _ours(keyword_dim))
    assert set(diffs) == {"dim", "keepdim"} and "keyword-only" in diffs["dim"]
    assert "default 0.0 (PyTorch: position 1, default None)" in gen_api.signature_differences(
        theirs, _ours(other_default))["dim"]
    assert set(gen_api.signature_differences(theirs, _ours(required))) == {"dim"}


def test_signature_differences_accepts_any_overload_and_passes_over_omitted_arguments():
    max_like = lambda input, dim=None, keepdim=False: None  # noqa: E731  (only its signature counts)
    overloads = [_sig("input, *, out=None"), _sig("input, dim, keepdim=False, *, out=None")]
    # dim is left out by the first overload, so its default here is free; out is in OMITTED
    assert gen_api.signature_differences(overloads, _ours(max_like)) == {}
    # PyTorch's positions skip an omitted argument: reduction stays at position 2
    loss = lambda input, target, reduction="mean": None  # noqa: E731
    assert gen_api.signature_differences([_sig("input, target, size_average=None, reduce=None, reduction='mean'")],
                                         _ours(loss)) == {}
    assert gen_api.signature_differences([_sig("*size, dtype=None")], _ours(max_like))["size"] == "missing"


def test_documented_signatures_reads_the_first_line_and_the_function_directives():
    class Builtin:
        """
        max(input, *, out=None) -> Tensor

        Returns the maximum.

        .. function:: max(input, dim, keepdim=False, *, out=None) -> (Tensor, LongTensor)

        Example: max(a) -> 3
        """

    assert gen_api.documented_signatures(Builtin, "max") == ["input, *, out=None", "input, dim, keepdim=False, *, out=None"]
    positional, keyword_only = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    assert _sig("low=0, high, size, \\*, generator=None") == [
        ("low", positional, "0.0"), ("high", positional, None), ("size", positional, None),
        ("generator", keyword_only, "None")]


def test_undocumented_difference_fails_until_the_note_names_it(monkeypatch):
    pytest.importorskip("torch")
    entry = gen_api.Entry("nn.functional.relu", "torch", "minigrad")
    assert gen_api.undocumented_differences(entry) == {}

    def relu(x, inplace=True):
        """max(x, 0)."""

    monkeypatch.setattr(minigrad.nn.functional, "relu", relu)
    found = gen_api.undocumented_differences(entry)
    assert set(found) == {("torch.nn.functional.relu", "input"), ("torch.nn.functional.relu", "x"),
                          ("torch.nn.functional.relu", "inplace")}
    relu.__doc__ = """max(x, 0).

    Differs from PyTorch: ``x`` is PyTorch's ``input``; ``inplace`` defaults to True.
    """
    assert gen_api.undocumented_differences(entry) == {}


# Calls written the way PyTorch accepts them, in the forms the signature table above rests on where
# torch's docstring disagrees with its argument parser (TORCH_SIGNATURES); each runs on both libraries.
ACCEPTED = [
    "x.mul_(other=2)", "x.div_(other=2)", "x.div(2, rounding_mode='floor')", "x.type_as(other=x)",
    "x.narrow(dim=0, start=0, length=1)", "x.where(x > 0, other=x)", "x.roll(1)", "x.round(decimals=1)",
    "x.nonzero(as_tuple=True)", "x.sort(stable=True)", "x.argsort(0, True)", "x.sum(0, False, dtype=lib.float64)",
    "x.prod(0, dtype=lib.float64)", "x.cumsum(dim=0, dtype=lib.float64)", "x.var(0, True, True)",
    "x.var(correction=0)", "x.gather(0, i, sparse_grad=False)", "x.scatter(0, i, value=1.0)",
    "lib.scatter(x, 0, i, 1.0)", "lib.squeeze(x)", "lib.max(x, x)", "lib.as_tensor([1.0], dtype=lib.float64)",
    "lib.tensor([1.0], dtype=lib.float64, requires_grad=True)", "lib.randint(3, (2,))", "lib.randint(0, 3, (2,))",
    "lib.randint(high=3, size=(2,))", "lib.arange(end=3)", "lib.arange(2, 5)", "lib.zeros_like(x, dtype=lib.float64)", "lib.add(input=x, other=x, alpha=2)",
    "lib.nn.functional.relu(input=x, inplace=False)", "lib.nn.functional.softmax(x, 0, dtype=lib.float64)",
    "lib.nn.Linear(2, 3, True, None, lib.float64)", "lib.nn.BatchNorm1d(3, bias=False)",
    "lib.nn.GroupNorm(1, 3, bias=False)", "lib.nn.ReLU(inplace=True)",
]
REFUSED = [  # PyTorch raises TypeError for these forms; so must minigrad
    "x.round(1)", "x.sum(0, False, lib.float64)", "x.cumsum(0, lib.float64)", "x.add_(x, 2)",
    "lib.tensor([1.0], lib.float64)", "lib.zeros_like(x, lib.float64)", "lib.full((2,), 1.0, lib.float64)",
    "lib.argsort(x, 0, True, True)", "lib.nn.GroupNorm(1, 3, 1e-5, True, None, None, False)",
]


@pytest.fixture(params=["torch", "minigrad"])
def lib(request):
    return pytest.importorskip(request.param)


@pytest.mark.parametrize("call", ACCEPTED)
def test_pytorch_call_forms_run(lib, call):
    x = lib.tensor([3.0, -1.0, 2.0])
    i = lib.tensor([0, 1])
    eval(call, {"lib": lib, "x": x, "i": i})


@pytest.mark.parametrize("call", REFUSED)
def test_forms_pytorch_refuses_are_refused(lib, call):
    x = lib.tensor([3.0, -1.0, 2.0])
    with pytest.raises(TypeError):
        eval(call, {"lib": lib, "x": x})
