"""FashionMNIST / MNIST: IDX parsing, checks, file resolution order, download, errors, bundled subset.

Resolution and download are tested on tiny fake IDX files (a dataset subclass with its own checksum
table, a file:// mirror); the real Fashion-MNIST is tested when the Debian package is installed.
"""
import gzip
import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad.data import datasets
from minigrad.data.datasets import MNIST, DatasetNotFoundError, FashionMNIST, Resource, read_idx
from minigrad.data.progress import SimpleBar

SYSTEM_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes() + array.tobytes()


# ----------------------------------------------------------------------------- read_idx
def test_read_idx_roundtrip_and_structure_errors():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    good = idx_bytes(images)
    np.testing.assert_array_equal(read_idx(good, (2, 3, 4)), images)
    np.testing.assert_array_equal(read_idx(idx_bytes([1, 2, 3])), [1, 2, 3])
    with pytest.raises(ValueError, match="magic"):
        read_idx(b"\x01" + good[1:])
    with pytest.raises(ValueError, match="unsigned byte"):
        read_idx(good[:2] + b"\x0d" + good[3:])
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(good[:9])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(good[:-1])
    with pytest.raises(ValueError, match="trailing"):
        read_idx(good + b"\x00")
    with pytest.raises(ValueError, match="dimensions"):
        read_idx(good, (3, 2, 4))


# ----------------------------------------------------------------------------- resolution on fake files
N_TRAIN, N_TEST, SIDE = 6, 4, 5


def make_payloads(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        out[f"{prefix}-images-idx3-ubyte"] = idx_bytes(rng.integers(0, 256, (n, SIDE, SIDE)))
        out[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(rng.integers(0, 10, n))
    return out


PAYLOADS = make_payloads()
GZ = {name: gzip.compress(data, mtime=0) for name, data in PAYLOADS.items()}


def resource(name, n, shape, official_gz=None):
    gz = GZ[name] if official_gz is None else official_gz
    return Resource(name + ".gz", hashlib.sha256(gz).hexdigest(), len(gz), (n, *shape),
                    hashlib.sha256(PAYLOADS[name]).hexdigest())


class Tiny(FashionMNIST):
    """FashionMNIST with a checksum table for the fake files (GZ are the 'official' archives)."""

    resources = {
        "train": (resource("train-images-idx3-ubyte", N_TRAIN, (SIDE, SIDE)),
                  resource("train-labels-idx1-ubyte", N_TRAIN, ())),
        "test": (resource("t10k-images-idx3-ubyte", N_TEST, (SIDE, SIDE)),
                 resource("t10k-labels-idx1-ubyte", N_TEST, ())),
    }


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated locations: empty user cache and system dir, no $MINIGRAD_DATA, no network mirror."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setattr(Tiny, "mirrors", ((tmp_path / "server").as_uri() + "/",))
    return tmp_path


def put(directory, gz=True, which=None, data=None):
    directory.mkdir(parents=True, exist_ok=True)
    for name in which or PAYLOADS:
        content = data if data is not None else (GZ[name] if gz else PAYLOADS[name])
        (directory / (name + ".gz" if gz else name)).write_bytes(content)


def expected(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(PAYLOADS[f"{prefix}-images-idx3-ubyte"])
    labels = read_idx(PAYLOADS[f"{prefix}-labels-idx1-ubyte"])
    return images, labels


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("layout", ["fashion-mnist", ".", "FashionMNIST/raw"])
def test_root_layouts_and_normalization(env, gz, layout):
    put(env / "root" / layout, gz=gz)
    for train in (True, False):
        ds = Tiny(root=env / "root", train=train, download=False)
        images, labels = expected("train" if train else "test")
        assert ds.data.shape == (len(labels), 1, SIDE, SIDE) and ds.data.dtype == np.float32
        assert ds.targets.dtype == np.int64 and len(ds) == len(labels)
        np.testing.assert_array_equal(ds.data.numpy()[:, 0], images.astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(ds.targets.numpy(), labels)
        x, y = ds[1]
        assert x.shape == (1, SIDE, SIDE) and y == labels[1] and isinstance(y, int)
        assert str(env / "root") in ds.source


def test_search_order_root_env_cache_system(env, monkeypatch):
    for place in ("env", "cache/minigrad", "system/fashion-mnist"):
        put(env / place / "fashion-mnist" if place == "env" else env / place)
    monkeypatch.setenv("MINIGRAD_DATA", str(env / "env"))
    assert Tiny(download=False).source == str(env / "env" / "fashion-mnist")
    monkeypatch.delenv("MINIGRAD_DATA")
    assert Tiny(download=False).source == str(env / "cache" / "minigrad")
    for f in (env / "cache" / "minigrad").iterdir():
        f.unlink()
    assert Tiny(download=False).source == str(env / "system" / "fashion-mnist")


def test_truncated_gz_is_rejected_and_the_next_location_used(env):
    put(env / "root", which=["train-images-idx3-ubyte"], data=GZ["train-images-idx3-ubyte"][:-10])
    put(env / "cache" / "minigrad")
    with pytest.warns(UserWarning, match="not a valid gzip file"):
        ds = Tiny(root=env / "root", download=False)
    assert ds.source == str(env / "cache" / "minigrad")


def test_flipped_byte_in_raw_file_is_detected_by_sha256(env):
    bad = bytearray(PAYLOADS["train-images-idx3-ubyte"])
    bad[-1] ^= 0xFF  # same size, valid structure: only the checksum can tell
    put(env / "root", gz=False)
    (env / "root" / "train-images-idx3-ubyte").write_bytes(bytes(bad))
    with pytest.warns(UserWarning, match="sha256"), pytest.raises(DatasetNotFoundError) as err:
        Tiny(root=env / "root", download=False)
    assert "Rejected" in str(err.value) and "train-images-idx3-ubyte" in str(err.value)


def test_wrong_dimensions_are_rejected(env):
    put(env / "root", gz=False)
    (env / "root" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(N_TRAIN + 1)))
    with pytest.warns(UserWarning, match="dimensions"), pytest.raises(DatasetNotFoundError):
        Tiny(root=env / "root", download=False)


def test_official_gz_is_accepted_by_its_own_sha256(env, monkeypatch):
    # A recompressed archive (other gz bytes, same content) must pass the content check; the official
    # archive passes by its file sha256 even when no content checksum is known.
    recompressed = gzip.compress(PAYLOADS["t10k-labels-idx1-ubyte"], compresslevel=1, mtime=123)
    assert recompressed != GZ["t10k-labels-idx1-ubyte"]
    put(env / "root")
    (env / "root" / "t10k-labels-idx1-ubyte.gz").write_bytes(recompressed)
    assert len(Tiny(root=env / "root", train=False, download=False)) == N_TEST
    images, labels = Tiny.resources["test"]
    monkeypatch.setattr(Tiny, "resources", {"test": (images, Resource(labels.name, labels.sha256, labels.size,
                                                                        labels.shape, "0" * 64))})
    with pytest.warns(UserWarning, match="sha256"), pytest.raises(DatasetNotFoundError):
        Tiny(root=env / "root", train=False, download=False)  # recompressed: content sha256 now wrong
    (env / "root" / "t10k-labels-idx1-ubyte.gz").write_bytes(GZ["t10k-labels-idx1-ubyte"])
    assert len(Tiny(root=env / "root", train=False, download=False)) == N_TEST


def test_download_from_mirror_verifies_and_saves(env, capsys):
    put(env / "server")
    ds = Tiny(root=env / "root", train=False, download=True)
    assert len(ds) == N_TEST
    saved = env / "root" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    assert saved.read_bytes() == GZ["t10k-images-idx3-ubyte"]
    assert not list((env / "root" / "fashion-mnist").glob("*.part"))
    assert "downloading t10k-images-idx3-ubyte.gz" in capsys.readouterr().err
    # without root the download goes to the user cache
    Tiny(train=True, download=True)
    assert (env / "cache" / "minigrad" / "fashion-mnist" / "train-labels-idx1-ubyte.gz").is_file()


def test_corrupt_download_is_not_kept(env):
    put(env / "server")
    (env / "server" / "t10k-images-idx3-ubyte.gz").write_bytes(GZ["t10k-images-idx3-ubyte"][:-3] + b"xyz")
    with pytest.raises(DatasetNotFoundError) as err:
        Tiny(root=env / "root", train=False, download=True)
    message = str(err.value)
    assert "Download failed" in message and "sha256" in message and "t10k-images-idx3-ubyte.gz" in message
    assert not (env / "root" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert not list((env / "root" / "fashion-mnist").glob("*.part"))


def test_unreachable_mirror_gives_one_clear_error(env):
    with pytest.raises(DatasetNotFoundError) as err:
        Tiny(root=env / "root", download=True)  # the server directory does not exist
    message = str(err.value)
    for needle in ("was not found", "Looked in:", str(env / "root"), "$MINIGRAD_DATA", "user cache",
                   "sudo apt-get install dataset-fashion-mnist", 'subset="small"', "Download failed",
                   "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"):
        assert needle in message, needle


def test_no_download_and_mnist_message(env):
    with pytest.raises(DatasetNotFoundError, match=r"not attempted \(download=False\)"):
        Tiny(download=False)
    monkey_mnist = type("M", (MNIST,), {"mirrors": Tiny.mirrors})
    with pytest.raises(DatasetNotFoundError) as err:
        monkey_mnist(download=True)
    assert "apt-get" not in str(err.value) and "subset" not in str(err.value)
    assert "http" not in str(err.value).split("Do one of")[0].split("Download failed")[0]


def test_subset_argument_errors():
    with pytest.raises(ValueError, match='"small"'):
        FashionMNIST(subset="tiny")
    with pytest.raises(ValueError, match="no subset is bundled"):
        MNIST(subset="small")


# ----------------------------------------------------------------------------- bundled subset
def test_small_subset_contents():
    train = FashionMNIST(subset="small")
    test = FashionMNIST(subset="small", train=False)
    assert train.data.shape == (2000, 1, 28, 28) and test.data.shape == (1000, 1, 28, 28)
    assert train.data.dtype == np.float32 and train.targets.dtype == np.int64
    assert 0 <= train.data.numpy().min() and train.data.numpy().max() <= 1
    assert np.bincount(train.targets.numpy()).tolist() == [200] * 10
    assert np.bincount(test.targets.numpy()).tolist() == [100] * 10
    assert "bundled subset" in repr(train)
    assert (datasets.SMALL_DIR / "LICENSE").read_text().count("Zalando SE") >= 1
    assert os.path.getsize(datasets.SMALL_DIR / FashionMNIST.small_file) <= 2 * 1024 * 1024


def test_small_subset_corruption_is_detected(monkeypatch):
    monkeypatch.setattr(FashionMNIST, "small_sha256", "0" * 64)
    with pytest.raises(DatasetNotFoundError, match="corrupt"):
        FashionMNIST(subset="small")


# ----------------------------------------------------------------------------- the real data (Debian package)
needs_system = pytest.mark.skipif(not (SYSTEM_FMNIST / "t10k-images-idx3-ubyte.gz").is_file(),
                                  reason="Debian package dataset-fashion-mnist not installed")


@needs_system
def test_full_fashion_mnist_from_system_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    test = FashionMNIST(train=False, download=False)
    assert test.source == str(SYSTEM_FMNIST)
    assert test.data.shape == (10000, 1, 28, 28) and np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    small = FashionMNIST(subset="small", train=False)
    with np.load(datasets.SMALL_DIR / FashionMNIST.small_file) as npz:
        index = npz["test_index"]
    np.testing.assert_array_equal(small.data.numpy(), test.data.numpy()[index])
    np.testing.assert_array_equal(small.targets.numpy(), test.targets.numpy()[index])


# ----------------------------------------------------------------------------- progress fallback
def test_simple_bar_draws_and_closes():
    out = io.StringIO()
    bar = SimpleBar(range(5), desc="epoch 1", unit="img", mininterval=0, file=out)
    for i in bar:
        bar.set_postfix(loss=0.5 / (i + 1), acc="0.9")
    text = out.getvalue()
    assert "epoch 1" in text and "5/5" in text and "loss=0.1" in text and text.endswith("\n")
    bar.update(1)
    assert out.getvalue() == text  # nothing after close
    quiet = io.StringIO()
    list(SimpleBar(range(3), disable=True, file=quiet))
    assert quiet.getvalue() == ""
    scaled = io.StringIO()
    with SimpleBar(total=2_000_000, unit="B", unit_scale=True, mininterval=0, file=scaled) as b:
        b.update(2_000_000)
    assert "2.0M/2.0M" in scaled.getvalue()


def test_progress_falls_back_without_tqdm(monkeypatch):
    progress_module = sys.modules["minigrad.data.progress"]  # the module; minigrad.data.progress is the function
    monkeypatch.setattr(progress_module, "_tqdm", None)
    bar = progress_module.progress(range(3), desc="x", disable=True)
    assert isinstance(bar, SimpleBar) and list(bar) == [0, 1, 2]
