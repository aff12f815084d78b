"""docs/api.md is generated from the code (docs/gen_api.py) and its checklist names PyTorch's API.

The page must equal a fresh rendering, so an entry that appears or disappears in minigrad, or a
``Differs from PyTorch:`` note that changes, fails here until the page is regenerated. With PyTorch
installed, every entry must name something PyTorch has, in the forms listed (function of ``torch``,
method of ``torch.Tensor``) and with the keyword arguments listed, so the checklist cannot drift from
the API it copies.
"""
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.label().replace("`", ""))
def test_entry_exists_in_pytorch(entry):
    top = entry.torch_module.split(".")[0]
    pytest.importorskip(top)
    for torch_path, _, _ in entry.targets:
        module, _, attr = torch_path.rpartition(".")
        while module and gen_api.resolve(module, attr) is None and "." in module:
            module, _, head = module.rpartition(".")
            attr = f"{head}.{attr}"
        obj = gen_api.resolve(module, attr)
        assert obj is not None, f"{torch_path} is not in PyTorch"
        if entry.kwargs:
            assert gen_api.missing_kwargs(obj, entry.kwargs) == [], torch_path
