"""minigrad.device and the dtype objects: PyTorch's spellings, equality, errors; tensors and modules
move to the CPU (a no-op) and refuse other devices."""
import numpy as np
import pytest
import torch

import minigrad


@pytest.mark.parametrize("args", [("cpu",), ("cpu:0",), ("cuda",), ("cuda:1",), ("cuda", 2), ("mps",)])
def test_device_parses_like_torch(args):
    ours, theirs = minigrad.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert minigrad.device(ours) == ours and hash(ours) == hash(minigrad.device(*args))


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cpu:-1"])
def test_bad_device_strings_raise_runtime_error_like_torch(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError):
        minigrad.device(bad)


def test_tensors_and_modules_live_on_the_cpu():
    x = minigrad.ones(2, requires_grad=True)
    assert x.device == minigrad.device("cpu") == "cpu" and x.cpu() is x
    assert x.to("cpu") is x and x.to(minigrad.device("cpu:0")) is x
    y = x.to("cpu", minigrad.float64)
    assert y.dtype == minigrad.float64 and y.requires_grad
    assert x.to(device="cpu", dtype=minigrad.float64).dtype == np.float64
    assert x.to(minigrad.zeros(1, dtype=minigrad.int64)).dtype == np.int64
    with pytest.raises(RuntimeError, match="CPU only: device 'cuda:0' is not available"):
        x.to("cuda:0")
    model = minigrad.nn.Linear(2, 2)
    assert model.to("cpu") is model and model.weight.dtype == np.float32
    assert model.to("cpu", minigrad.float64).weight.dtype == np.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to(minigrad.device("cuda"))
    assert minigrad.zeros(2, device="cpu").device == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        minigrad.randn(2, device="cuda")
    assert not minigrad.cuda.is_available() and not minigrad.accelerator.is_available()


def test_dtype_objects_spelled_as_torch():
    pairs = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
             "int64": "int64", "long": "int64", "int32": "int32", "int": "int32", "bool": "bool"}
    for name, canonical in pairs.items():
        assert str(getattr(minigrad, name)) == canonical == str(getattr(torch, name)).replace("torch.", "")
        assert isinstance(getattr(minigrad, name), minigrad.dtype)
    assert minigrad.tensor([1, 2]).int().dtype == minigrad.int
    assert minigrad.tensor([1, 0]).bool().dtype == minigrad.bool


@pytest.mark.parametrize("dtype, name", [(np.float32, "FloatTensor"), (np.float64, "DoubleTensor"),
                                         (np.int64, "LongTensor"), (np.bool_, "BoolTensor")])
def test_type_names_and_casts_like_torch(dtype, name):
    x = minigrad.zeros(2, dtype=dtype)
    assert x.type() == f"minigrad.{name}" and torch.zeros(2, dtype=torch.from_numpy(np.zeros(1, dtype)).dtype).type() == f"torch.{name}"
    assert x.type(minigrad.float64).dtype == np.float64
    assert x.type_as(minigrad.zeros(1, dtype=minigrad.int32)).dtype == np.int32
