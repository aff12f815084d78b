"""minigrad.save / minigrad.load: round trips (model with buffers, optimizer, scheduler), exact types,
corrupted and truncated files, atomic writes, and safetensors interop with PyTorch both ways."""
import os

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim

import safetensors  # noqa: F401,E402  (a test dependency: pyproject extra "test")
torch = pytest.importorskip("torch")
from safetensors.torch import load_file as torch_load_file  # noqa: E402
from safetensors.torch import save_file as torch_save_file  # noqa: E402


class Stats(nn.Module):
    """A module with buffers (float and int64 scalar), like BatchNorm's running statistics."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(minigrad.ones(n))
        self.register_buffer("running_mean", minigrad.zeros(n))
        self.register_buffer("num_batches_tracked", minigrad.tensor(0))
        self.register_buffer("scratch", minigrad.zeros(n), persistent=False)

    def forward(self, x):
        self.running_mean.data[...] = 0.9 * self.running_mean.data + 0.1 * x.data.mean(0)
        self.num_batches_tracked.data[...] += 1
        return x * self.scale


def _model():
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), Stats(6), nn.Linear(6, 3))


def _train(model, opt, sched, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        minigrad.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()


def test_checkpoint_round_trip_continues_identically(tmp_path, rng):
    x = minigrad.tensor(rng.standard_normal((8, 4)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 3, 8))
    model = _model()
    opt = optim.Adam(optim.param_groups_no_decay(model, 1e-2), lr=1e-2, amsgrad=True)
    sched = optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    _train(model, opt, sched, x, y, 5)
    path = tmp_path / "ckpt.safetensors"
    minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                   "scheduler": sched.state_dict(), "epoch": 5}, path)

    ckpt = minigrad.load(path)
    assert ckpt["epoch"] == 5
    assert ckpt["model"]["2.num_batches_tracked"].dtype == np.int64
    assert ckpt["model"]["2.num_batches_tracked"].item() == 5
    assert "2.scratch" not in ckpt["model"]
    assert ckpt["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert set(ckpt["optimizer"]["state"]) == set(range(5))  # int keys stay ints
    model2 = _model()
    opt2 = optim.Adam(optim.param_groups_no_decay(model2, 0.0), lr=1.0)
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=3, gamma=0.5)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    _train(model, opt, sched, x, y, 5)
    _train(model2, opt2, sched2, x, y, 5)
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_values_and_types_round_trip(tmp_path):
    obj = {
        "t64": minigrad.tensor(np.arange(6, dtype=np.float64).reshape(2, 3)),
        "strided": minigrad.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)).T,
        "arr": np.array([[True, False]]),
        "scalar": np.array(7, dtype=np.int64),
        "empty": np.zeros((0, 3), np.float32),
        "nested": {0: [1, 2.5, None, "s", float("inf")], "t": (np.float32(1.5), True)},
    }
    path = tmp_path / "x.safetensors"
    minigrad.save(obj, str(path))
    back = minigrad.load(path)
    assert isinstance(back["t64"], minigrad.Tensor) and back["t64"].dtype == np.float64
    np.testing.assert_array_equal(back["t64"].data, obj["t64"].data)
    np.testing.assert_array_equal(back["strided"].data, obj["strided"].data)
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.bool_
    assert back["scalar"].shape == () and back["scalar"] == 7
    assert back["empty"].shape == (0, 3)
    assert back["nested"] == {0: [1, 2.5, None, "s", float("inf")], "t": (1.5, True)}
    back["t64"].data[0, 0] = 42  # loaded arrays are ordinary writable memory
    minigrad.save(minigrad.ones(3), path)  # a bare tensor
    np.testing.assert_array_equal(minigrad.load(path).data, 1)


def test_unsupported_objects_and_key_clashes_write_nothing(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match="cannot store an object of type object at 'a/b'"):
        minigrad.save({"a": {"b": object()}}, path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        minigrad.save({(1, 2): minigrad.ones(1)}, path)
    with pytest.raises(ValueError, match="same key 'a/b'"):
        minigrad.save({"a/b": minigrad.ones(1), "a": {"b": minigrad.ones(1)}}, path)
    assert os.listdir(tmp_path) == []


def _saved(tmp_path, rng):
    path = tmp_path / "model.safetensors"
    model = _model()
    minigrad.save({"model": model.state_dict(), "step": 3}, path)
    return path, path.read_bytes()


def test_truncated_file_raises_naming_the_path(tmp_path, rng):
    path, data = _saved(tmp_path, rng)
    for cut in (len(data) - 7, len(data) // 2, 20, 3, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"{path}.*(truncated or corrupted|corrupted)"):
            minigrad.load(path)


def test_corrupted_data_and_header_are_detected(tmp_path, rng):
    path, data = _saved(tmp_path, rng)
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF  # a flipped bit inside the tensor data: the header is still valid
    path.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=f"{path}: corrupted checkpoint: checksum mismatch"):
        minigrad.load(path)
    garbled = bytearray(data)
    garbled[12:20] = b"@@@@@@@@"  # inside the JSON header
    path.write_bytes(bytes(garbled))
    with pytest.raises(ValueError, match=str(path)):
        minigrad.load(path)
    path.write_bytes(b"PK\x03\x04 this is a zip, not a checkpoint")
    with pytest.raises(ValueError, match=str(path)):
        minigrad.load(path)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        minigrad.load(tmp_path / "missing.safetensors")


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path, rng, monkeypatch):
    import safetensors.numpy

    path, data = _saved(tmp_path, rng)

    def crash(arrays, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")  # a half-written file, then the process "dies"
        raise OSError("disk full")
    monkeypatch.setattr(safetensors.numpy, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        minigrad.save({"model": _model().state_dict()}, path)
    assert path.read_bytes() == data
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind
    assert minigrad.load(path)["step"] == 3


def test_missing_safetensors_gives_install_hint(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        minigrad.save({"a": minigrad.ones(1)}, tmp_path / "a.safetensors")


# ---------------------------------------------------------------- PyTorch interop
def _mlp_pair():
    ours = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    return ours, theirs, (4, 5)


def _conv_pair():
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                 torch.nn.Linear(4 * 6 * 6, 3))
    return ours, theirs, (2, 2, 6, 6)


def _bn_pair():
    ours = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(),
                                 torch.nn.Linear(6, 2))
    with torch.no_grad():  # non-trivial running statistics
        theirs.train()(torch.randn(16, 5) * 3 + 1)
    return ours, theirs, (4, 5)


PAIRS = {"mlp": _mlp_pair, "conv": _conv_pair, "batchnorm": _bn_pair}


def _torch_to_minigrad(ours, theirs, path):
    torch_save_file(theirs.state_dict(), str(path))
    ours.load_state_dict(minigrad.load(path))


def _minigrad_to_torch(ours, theirs, path):
    minigrad.save(ours.state_dict(), path)
    theirs.load_state_dict(torch_load_file(str(path)))


@pytest.mark.parametrize("transfer", [_torch_to_minigrad, _minigrad_to_torch], ids=lambda f: f.__name__[1:])
@pytest.mark.parametrize("kind", list(PAIRS))
def test_state_dict_crosses_to_and_from_torch(tmp_path, rng, kind, transfer):
    """A safetensors state_dict written by one framework loads into the other's model, and the two
    models then give the same outputs."""
    ours, theirs, in_shape = PAIRS[kind]()
    theirs.eval()
    ours.eval()
    transfer(ours, theirs, tmp_path / "state.safetensors")
    x = rng.standard_normal(in_shape).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours(minigrad.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("moment", ["mid-write", "before-rename"])
def test_process_killed_mid_save_leaves_previous_checkpoint_intact(tmp_path, rng, moment):
    """A process that dies (SIGKILL: no exception handler, no cleanup) while saving leaves the
    previous checkpoint byte for byte, loadable; only a stray temporary file may remain."""
    import signal
    import subprocess
    import sys
    import textwrap

    path, data = _saved(tmp_path, rng)
    kill = "os.kill(os.getpid(), signal.SIGKILL)"
    patch = {
        # the writer has put part of the new file on disk when the process dies
        "mid-write": f"""
            def save_file(arrays, filename, metadata=None):
                with open(filename, "wb") as f:
                    f.write(b"half a header")
                    f.flush()
                {kill}
            safetensors.numpy.save_file = save_file
            """,
        # the new file is complete and synced, the rename has not happened
        "before-rename": f"""
            def replace(src, dst):
                {kill}
            os.replace = replace
            """,
    }[moment]
    script = "import os, signal, sys\nimport numpy as np\nimport safetensors.numpy\nimport minigrad\n" \
        + textwrap.dedent(patch) \
        + 'minigrad.save({"model": {"w": np.full(1000, 7.0)}, "step": 99}, sys.argv[1])\nprint("not killed")\n'
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert path.read_bytes() == data
    assert minigrad.load(path)["step"] == 3
    leftovers = [p for p in os.listdir(tmp_path) if p != "model.safetensors"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.safetensors.") and leftovers[0].endswith(".tmp")
    minigrad.save({"step": 4}, path)  # the next save to the path removes the dead writer's temporary
    assert minigrad.load(path)["step"] == 4
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_repeated_kills_leave_at_most_one_temporary(tmp_path):
    """A process rewriting one checkpoint is killed (SIGKILL) mid-write again and again: each new
    save removes the temporaries of the dead ones, so one stray file at most remains, and the
    checkpoint itself is always the last complete save."""
    import signal
    import subprocess
    import sys

    path = tmp_path / "model.safetensors"
    # each round forks a writer that dies inside the write (after the data, before the rename)
    script = """if True:
        import os, signal, sys
        import numpy as np
        import safetensors.numpy
        import minigrad
        real_save_file = safetensors.numpy.save_file

        def dying_save_file(arrays, filename, metadata=None):
            real_save_file(arrays, filename, metadata=metadata)
            os.kill(os.getpid(), signal.SIGKILL)

        for step in range(5):
            minigrad.save({"w": np.full(100, float(step)), "step": step}, sys.argv[1])
            pid = os.fork()
            if pid == 0:
                safetensors.numpy.save_file = dying_save_file
                minigrad.save({"w": np.zeros(100), "step": -1}, sys.argv[1])
                os._exit(0)  # not reached
            assert os.waitpid(pid, 0)[1] == signal.SIGKILL
            print(len([n for n in os.listdir(os.path.dirname(sys.argv[1])) if n.endswith(".tmp")]))
    """
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1"] * 5  # after every kill: its own temporary only
    assert minigrad.load(path)["step"] == 4
    assert len(os.listdir(tmp_path)) == 2


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    """Another thread or process still writing to the same path holds its temporary locked."""
    fcntl = pytest.importorskip("fcntl")
    path = tmp_path / "model.safetensors"
    live = tmp_path / ".model.safetensors.live.tmp"
    other = tmp_path / ".other.safetensors.dead.tmp"  # another destination's: not ours to judge
    other.write_bytes(b"x")
    with open(live, "wb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        minigrad.save({"step": 1}, path)
        assert live.exists() and other.exists()
    minigrad.save({"step": 2}, path)  # its writer is gone now
    assert sorted(os.listdir(tmp_path)) == [other.name, path.name]
