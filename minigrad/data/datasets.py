"""Fashion-MNIST and MNIST read from their IDX files, checked, as float32 images in [0, 1].

Normalization: ``image = uint8_pixel / 255`` as float32, shape (N, 1, 28, 28) (NCHW, one channel);
labels are int64 class indices 0..9. No mean/std standardization is applied (Fashion-MNIST's training
set has mean 0.2860 and std 0.3530 after this scaling; MNIST's 0.1307 and 0.3081).
Unlike torchvision, ``.data`` holds these normalized float images rather than the raw uint8 pixels.

Where the files come from, in this order (the first file that passes the checks wins):

1. ``root`` (argument), ``$MINIGRAD_DATA``, the user cache ``$XDG_CACHE_HOME/minigrad`` or
   ``~/.cache/minigrad``; in each, the files may sit directly in the directory, in a ``fashion-mnist/``
   (``mnist/``) sub-directory, or in torchvision's ``FashionMNIST/raw/`` (``MNIST/raw/``) layout;
   gzip-compressed (``*.gz``) or raw.
2. The system directory of the Debian package ``dataset-fashion-mnist``:
   ``/usr/share/datasets/fashion-mnist`` (MNIST has no such package).
3. With ``download=True``: the official location, with a progress bar; the download is kept only if its
   size and sha256 equal the official file's; it is saved under ``root``, else ``$MINIGRAD_DATA``, else
   the user cache.
4. Otherwise :class:`DatasetNotFoundError` says what was tried and what to do.

Checks, so a corrupt or truncated file is never used silently: a ``.gz`` whose sha256 is the official
one is accepted (gzip's CRC-32 then guards decompression). Any other file (Debian's package recompressed
the archives, so its ``.gz`` bytes differ from the official ones; raw files) must decompress cleanly, have
the IDX header this file should have (magic number, dimensions) and exactly the size the dimensions
imply, and, where the table below knows it, the sha256 of the decompressed IDX bytes. Rejected files are
reported with the reason (warning, and in the final error if nothing else is found).

The bundled subset (``subset="small"``): 2,000 training and 1,000 test images of the real
Fashion-MNIST (200 / 100 per class, the first of each class in file order), shipped with the package
for tests and offline demos. It is only used when asked for, never in place of the full set.
"""
import gzip
import hashlib
import os
import shutil
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .dataloader import default_collate
from .dataset import Dataset
from .progress import progress

__all__ = ["FashionMNIST", "MNIST", "DatasetNotFoundError", "read_idx"]

SYSTEM_DIR = Path("/usr/share/datasets")
SMALL_DIR = Path(__file__).resolve().parent / "_small"
DOWNLOAD_TIMEOUT = 30  # seconds without data before a download attempt is abandoned


class DatasetNotFoundError(RuntimeError):
    """No valid copy of a data set file was found or could be downloaded; the message says what to do."""


@dataclass(frozen=True)
class Resource:
    """One official file: its name, the sha256 and size of the official ``.gz``, the IDX dimensions,
    and the sha256 of the decompressed IDX bytes when known."""

    name: str
    sha256: str
    size: int
    shape: tuple
    idx_sha256: str = None

    @property
    def raw_name(self):
        return self.name[:-3]

    @property
    def idx_size(self):
        return 4 + 4 * len(self.shape) + int(np.prod(self.shape))


class _BadFile(Exception):
    """A candidate file failed a check; the message is the reason."""


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_idx(payload, shape=None):
    """uint8 array from the bytes of an IDX file, checking magic number, dimensions and exact size.

    ``shape``: the dimensions the file must have (None: any). Raises ``ValueError`` naming the problem.
    """
    if len(payload) < 4 or payload[0] != 0 or payload[1] != 0:
        raise ValueError("not an IDX file (the magic number must start with two zero bytes)")
    if payload[2] != 0x08:
        raise ValueError(f"IDX element type 0x{payload[2]:02x} is not unsigned byte (0x08)")
    ndim = payload[3]
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise ValueError(f"truncated IDX header ({len(payload)} bytes for {ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(payload, dtype=">u4", count=ndim, offset=4))
    if shape is not None and dims != tuple(shape):
        raise ValueError(f"IDX dimensions {dims}, expected {tuple(shape)}")
    expected = header + int(np.prod(dims))
    if len(payload) != expected:
        what = "truncated" if len(payload) < expected else "has trailing bytes"
        raise ValueError(f"{what}: {len(payload)} bytes, dimensions {dims} need exactly {expected}")
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(dims)


def _load_checked(path, res):
    """The IDX array in ``path`` if it passes the checks described in the module docstring."""
    data = path.read_bytes()
    official = path.name.endswith(".gz") and len(data) == res.size and _sha256(data) == res.sha256
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise _BadFile(f"not a valid gzip file (truncated or corrupt): {exc}") from None
    try:
        array = read_idx(data, res.shape)
    except ValueError as exc:
        raise _BadFile(f"bad IDX content: {exc}") from None
    if not official and res.idx_sha256 is not None and _sha256(data) != res.idx_sha256:
        raise _BadFile(f"sha256 of the IDX content is {_sha256(data)}, expected {res.idx_sha256}")
    return array


def user_cache_dir():
    """``$XDG_CACHE_HOME/minigrad`` or ``~/.cache/minigrad``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "minigrad"


class _IDXDataset(Dataset):
    """Images and labels from a pair of IDX files per split (see the module docstring)."""

    title = folder = torchvision_folder = None
    mirrors = ()          # base URLs, the official one first
    resources = {}        # {"train": (images, labels), "test": (images, labels)}
    system_package = None  # Debian package that installs the files under SYSTEM_DIR / folder
    small_file = None     # bundled subset (npz) and its sha256
    small_sha256 = None
    classes = ()

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=True, subset=None):
        self.root = None if root is None else Path(root).expanduser()
        self.transform, self.target_transform = transform, target_transform
        self.train = bool(train)
        self.subset = subset
        if subset is None:
            images_res, labels_res = self.resources["train" if train else "test"]
            images = self._resolve(images_res, download)
            labels = self._resolve(labels_res, download)
            if len(images) != len(labels):
                raise DatasetNotFoundError(f"{self.title}: {len(images)} images but {len(labels)} labels")
        elif subset == "small" and self.small_file is not None:
            images, labels = self._load_small()
            self.source = "bundled subset " + str(SMALL_DIR / self.small_file)
        else:
            choices = '"small" or None' if self.small_file else "None (no subset is bundled)"
            raise ValueError(f"{type(self).__name__}: subset must be {choices}, got {subset!r}")
        pixels = images.astype(np.float32)
        pixels /= np.float32(255)
        self.data = Tensor._wrap(pixels.reshape(len(images), 1, *images.shape[1:]))
        self.targets = Tensor._wrap(labels.astype(np.int64))

    # ------------------------------------------------------------------ Dataset protocol
    def __len__(self):
        return self.targets.shape[0]

    def __getitem__(self, index):
        """``(image, label)``: without a transform, a (1, 28, 28) float32 Tensor in [0, 1] and an int.

        ``transform`` receives the image as a uint8 numpy array (28, 28), where torchvision passes a
        PIL image (``transforms.ToTensor`` turns either into the float Tensor); ``target_transform``
        receives the int label."""
        label = int(self.targets.data[index])
        if self.target_transform is not None:
            label = self.target_transform(label)
        if self.transform is None:
            return Tensor._wrap(self.data.data[index]), label
        # pixel / 255 in float32 rounds back to the exact uint8 pixel
        pixels = np.rint(self.data.data[index, 0] * np.float32(255)).astype(np.uint8)
        return self.transform(pixels), label

    def _get_batch(self, indices):
        if self.transform is not None or self.target_transform is not None:
            return default_collate([self[int(i)] for i in indices])  # transforms work sample by sample
        return [Tensor._wrap(self.data.data[indices]), Tensor._wrap(self.targets.data[indices])]

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Split: {'Train' if self.train else 'Test'}", f"    Source: {self.source}"]
        return "\n".join(lines)

    # ------------------------------------------------------------------ file resolution
    def _user_dirs(self):
        """(label, directory) of the user-level locations, in search order."""
        dirs = []
        if self.root is not None:
            dirs.append(("root", self.root))
        if os.environ.get("MINIGRAD_DATA"):
            dirs.append(("$MINIGRAD_DATA", Path(os.environ["MINIGRAD_DATA"]).expanduser()))
        dirs.append(("user cache", user_cache_dir()))
        return dirs

    def _candidates(self, res):
        for label, d in self._user_dirs():
            for sub in (d / self.folder, d, d / self.torchvision_folder / "raw"):
                for name in (res.name, res.raw_name):
                    yield sub / name
        if self.system_package is not None:
            for name in (res.name, res.raw_name):
                yield SYSTEM_DIR / self.folder / name

    def _resolve(self, res, download):
        rejected = []
        for path in self._candidates(res):
            if not path.is_file():
                continue
            try:
                array = _load_checked(path, res)
            except _BadFile as exc:
                warnings.warn(f"{self.title}: ignoring {path}: {exc}", stacklevel=3)
                rejected.append(f"{path}: {exc}")
                continue
            self.source = str(path.parent)
            return array
        failures = []
        if download:
            dest = self._user_dirs()[0][1] / self.folder
            for base in self.mirrors:
                try:
                    path = self._download(base + res.name, dest / res.name, res)
                    array = _load_checked(path, res)
                except (OSError, _BadFile) as exc:
                    failures.append(f"{base + res.name}: {exc}")
                    continue
                self.source = str(path.parent)
                return array
        raise DatasetNotFoundError(self._not_found_message(res, rejected, download, failures))

    def _download(self, url, dest, res):
        """Fetch ``url`` to ``dest`` (via ``dest.part``), keeping it only if size and sha256 match."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, open(part, "wb") as out, \
                    progress(desc=f"downloading {res.name}", total=res.size, unit="B", unit_scale=True) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            size = part.stat().st_size
            if size != res.size or digest.hexdigest() != res.sha256:
                raise _BadFile(f"downloaded file has {size} bytes and sha256 {digest.hexdigest()}, "
                               f"the official file has {res.size} bytes and sha256 {res.sha256}")
            shutil.move(part, dest)
        finally:
            part.unlink(missing_ok=True)
        return dest

    def _not_found_message(self, res, rejected, download, failures):
        user_dirs = self._user_dirs()
        lines = [f"{self.title} file {res.name} ({'train' if self.train else 'test'} split) was not found.",
                 "Looked in:"]
        lines += [f"  {label:<15} {d}  (directly, in {self.folder}/ or in {self.torchvision_folder}/raw/)"
                  for label, d in user_dirs]
        if self.system_package:
            lines.append(f"  {'system':<15} {SYSTEM_DIR / self.folder}  (Debian package {self.system_package})")
        if rejected:
            lines.append("Rejected (corrupt, truncated or not the official file):")
            lines += [f"  {r}" for r in rejected]
        if not download:
            lines.append("Download: not attempted (download=False).")
        else:
            lines.append("Download failed:")
            lines += [f"  {f}" for f in failures]
        names = ", ".join(r.name for pair in self.resources.values() for r in pair)
        dest = user_dirs[0][1] / self.folder
        lines.append("Do one of these:")
        if self.system_package:
            lines.append(f"  - install the Debian/Ubuntu package:  sudo apt-get install {self.system_package}")
        lines.append(f"  - with network access, run with download=True: the files go to {dest}")
        lines.append(f"  - copy the files {names} (from {self.mirrors[0]}) into {dest}"
                     " (or into a directory named by $MINIGRAD_DATA or root=)")
        if self.small_file:
            lines.append(f"  - for a quick try, use the small subset bundled with minigrad: "
                         f"{type(self).__name__}(subset=\"small\")")
        return "\n".join(lines)

    # ------------------------------------------------------------------ bundled subset
    def _load_small(self):
        path = SMALL_DIR / self.small_file
        data = path.read_bytes()
        if _sha256(data) != self.small_sha256:
            raise DatasetNotFoundError(f"the bundled subset {path} is corrupt (sha256 {_sha256(data)}, "
                                       f"expected {self.small_sha256}); reinstall minigrad")
        with np.load(path) as npz:
            split = "train" if self.train else "test"
            return npz[f"x_{split}"], npz[f"y_{split}"]


class FashionMNIST(_IDXDataset):
    """Zalando's Fashion-MNIST: 60,000 training and 10,000 test 28×28 grayscale images, 10 classes.

    Parameters
    ----------
    root : str or Path, optional
        Directory searched first (and where downloads go).
    train : bool
        Training split (60,000) or test split (10,000).
    transform : callable, optional
        Applied to each image, given as a uint8 numpy array (28, 28) (torchvision: a PIL image), e.g.
        ``transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])``.
    target_transform : callable, optional
        Applied to each label (an int).
    download : bool
        Download the official files if no valid local copy is found.
    subset : None or "small"
        ``"small"``: the bundled real subset (2,000 train / 1,000 test images), nothing is searched.

    Attributes
    ----------
    data : Tensor
        float32 (N, 1, 28, 28), pixel / 255.
    targets : Tensor
        int64 (N,).
    classes : list of str
    source : str
        Where the data was read from.

    Data: https://github.com/zalandoresearch/fashion-mnist, © 2017 Zalando SE, MIT license.
    Differs from PyTorch: without a transform a sample is a float32 Tensor in [0, 1] (torchvision: a
    PIL image) and ``.data`` holds these floats (torchvision: uint8); a transform receives a uint8
    numpy array in place of a PIL image. ``root`` may be left out (the usual places are searched),
    ``download`` defaults to True (torchvision: False; every file is checked before use) and
    ``subset`` is minigrad's.
    """

    title = "Fashion-MNIST"
    folder = "fashion-mnist"
    torchvision_folder = "FashionMNIST"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    system_package = "dataset-fashion-mnist"
    small_file = "fashion_mnist_small.npz"
    small_sha256 = "db94f2243ed43902bea312f82fbd70c9f51471ed06958d161f401d4c7449138e"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    # sha256/size of the official .gz files, and sha256 of their IDX content. The content sums were
    # computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1, whose .gz files are
    # recompressed (sha256 train-images b0564c3e..., train-labels 0ae29f65..., t10k-images cc1d090a...,
    # t10k-labels 8d3605d1...; their MD5s are not the ones the Fashion-MNIST README publishes), so
    # Debian files pass by content. The official archives pass by their own sha256 (their content
    # could not be compared offline).
    resources = {
        "train": (
            Resource("train-images-idx3-ubyte.gz",
                     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880,
                     (60000, 28, 28), "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            Resource("train-labels-idx1-ubyte.gz",
                     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515,
                     (60000,), "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        ),
        "test": (
            Resource("t10k-images-idx3-ubyte.gz",
                     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102,
                     (10000, 28, 28), "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            Resource("t10k-labels-idx1-ubyte.gz",
                     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148,
                     (10000,), "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        ),
    }


class MNIST(_IDXDataset):
    """LeCun, Cortes and Burges' handwritten digits: 60,000 training and 10,000 test 28×28 images.

    Same parameters and attributes as :class:`FashionMNIST`; no system package and no bundled subset.
    Files other than the official ``.gz`` archives are checked by gzip CRC and IDX structure (the
    sha256 of the decompressed content is not recorded for MNIST).

    Differs from PyTorch: without a transform a sample is a float32 Tensor in [0, 1] (torchvision: a
    PIL image) and ``.data`` holds these floats (torchvision: uint8); a transform receives a uint8
    numpy array in place of a PIL image. ``root`` may be left out (the usual places are searched),
    ``download`` defaults to True (torchvision: False; every file is checked before use) and
    ``subset`` is minigrad's.
    """

    title = "MNIST"
    folder = "mnist"
    torchvision_folder = "MNIST"
    mirrors = ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/")
    classes = [str(d) for d in range(10)]
    resources = {
        "train": (
            Resource("train-images-idx3-ubyte.gz",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422,
                     (60000, 28, 28)),
            Resource("train-labels-idx1-ubyte.gz",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881, (60000,)),
        ),
        "test": (
            Resource("t10k-images-idx3-ubyte.gz",
                     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877,
                     (10000, 28, 28)),
            Resource("t10k-labels-idx1-ubyte.gz",
                     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542, (10000,)),
        ),
    }
