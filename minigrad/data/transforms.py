"""Image transforms for datasets' ``transform=`` argument (torchvision.transforms' names and defaults).

An image comes in as a numpy array in the layout of a PIL image, ``(H, W)`` or ``(H, W, C)`` (uint8 in
0..255, as the MNIST datasets hand it to a transform), or as a Tensor ``(C, H, W)`` after ``ToTensor``.
``RandomCrop`` and ``RandomHorizontalFlip`` accept both; ``Normalize`` wants a float Tensor. Random
choices come from minigrad's global generator (``minigrad.manual_seed``; in DataLoader workers each
worker's generator is seeded from it).

    transform = transforms.Compose([
        transforms.RandomCrop(28, padding=2),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.2860,), (0.3530,)),
    ])
    train = FashionMNIST(train=True, transform=transform)
"""
import numbers

import numpy as np

from ..random import default_generator
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip"]


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return "\n".join([f"{type(self).__name__}("] + [f"    {t}" for t in self.transforms] + [")"])


class ToTensor:
    """(H, W) or (H, W, C) image → Tensor (C, H, W); uint8 becomes float32 divided by 255.

    Differs from PyTorch: takes a numpy array in place of a PIL image.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            raise TypeError("pic should be a numpy array (H, W) or (H, W, C), got a Tensor (already converted?)")
        img = np.asarray(pic)
        if img.ndim not in (2, 3):
            raise ValueError(f"pic should be 2 or 3 dimensional. Got {img.ndim} dimensions.")
        if img.ndim == 2:
            img = img[:, :, None]
        chw = np.ascontiguousarray(img.transpose(2, 0, 1))
        if chw.dtype != np.uint8:
            return Tensor._wrap(chw)  # other dtypes are kept as they are, as torchvision does
        out = chw.astype(np.float32)
        out /= np.float32(255)
        return Tensor._wrap(out)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """Per channel: ``(x − mean[c]) / std[c]`` on a float Tensor (C, H, W) or (N, C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = list(mean), list(std), inplace
        if any(s == 0 for s in self.std):
            raise ValueError("std evaluated to zero after conversion to float32, leading to division by zero.")

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Input tensor should be a minigrad Tensor. Got {type(tensor).__name__}.")
        x = tensor.data
        if x.dtype.kind != "f":
            raise TypeError(f"Input tensor should be a float tensor. Got {x.dtype}.")
        if x.ndim < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got {tensor.shape}.")
        shape = (-1, 1, 1)
        mean = np.asarray(self.mean, dtype=x.dtype).reshape(shape)
        std = np.asarray(self.std, dtype=x.dtype).reshape(shape)
        if self.inplace:
            x -= mean
            x /= std
            return tensor
        return Tensor._wrap((x - mean) / std)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _size_pair(size, name):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")
    return int(size[0]), int(size[1])


def _hw_axes(img):
    """Axes of height and width: Tensors are (…, H, W), arrays (H, W[, C]) as a PIL image."""
    return (img.ndim - 2, img.ndim - 1) if isinstance(img, Tensor) else (0, 1)


class RandomCrop:
    """A random ``size`` window (after zero-``padding`` the borders: an int for all four, (left/right,
    top/bottom) or (left, top, right, bottom)), as in torchvision with ``padding_mode='constant'``."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _size_pair(size, "size")
        self.padding, self.pad_if_needed, self.fill = padding, pad_if_needed, fill
        if padding_mode != "constant":
            raise ValueError(f"padding_mode {padding_mode!r} is not supported (only 'constant')")
        self.padding_mode = padding_mode

    def __call__(self, img):
        data = img.data if isinstance(img, Tensor) else np.asarray(img)
        h_ax, w_ax = _hw_axes(img)
        pad = [(0, 0)] * data.ndim
        if self.padding is not None:
            p = self.padding
            p = [p] * 4 if isinstance(p, numbers.Integral) else list(p) * 2 if len(p) == 2 else list(p)
            if len(p) != 4:
                raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(p)} element tuple")
            pad[w_ax], pad[h_ax] = (p[0], p[2]), (p[1], p[3])
        th, tw = self.size
        if self.pad_if_needed:
            h, w = data.shape[h_ax] + sum(pad[h_ax]), data.shape[w_ax] + sum(pad[w_ax])
            pad[h_ax] = (pad[h_ax][0] + max(th - h, 0), pad[h_ax][1] + max(th - h, 0))
            pad[w_ax] = (pad[w_ax][0] + max(tw - w, 0), pad[w_ax][1] + max(tw - w, 0))
        if any(a or b for a, b in pad):
            data = np.pad(data, pad, constant_values=self.fill)
        h, w = data.shape[h_ax], data.shape[w_ax]
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        rng = default_generator()
        i, j = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        index = [slice(None)] * data.ndim
        index[h_ax], index[w_ax] = slice(i, i + th), slice(j, j + tw)
        out = np.ascontiguousarray(data[tuple(index)])
        return Tensor._wrap(out) if isinstance(img, Tensor) else out

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if default_generator().random() >= self.p:
            return img
        data = img.data if isinstance(img, Tensor) else np.asarray(img)
        out = np.ascontiguousarray(np.flip(data, axis=_hw_axes(img)[1]))
        return Tensor._wrap(out) if isinstance(img, Tensor) else out

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"
