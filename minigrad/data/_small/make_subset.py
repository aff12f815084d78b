"""Rebuild fashion_mnist_small.npz from the full Fashion-MNIST (how the bundled file was made).

    python -m minigrad.data._small.make_subset [DIR_WITH_THE_FOUR_FILES]

Takes, per class, the first 200 training and the first 100 test images in file order (2,000 + 1,000),
stores uint8 pixels, uint8 labels and the indices into the full files in a compressed npz, and prints
its sha256 (to paste into ``FashionMNIST.small_sha256``).
"""
import hashlib
import sys
from pathlib import Path

import numpy as np

from minigrad.data.datasets import FashionMNIST

PER_CLASS = {"train": 200, "test": 100}


def first_per_class(labels, k):
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:k] for c in range(10)]))


def main(root=None):
    arrays = {}
    for split, k in PER_CLASS.items():
        full = FashionMNIST(root=root, train=split == "train", download=False)
        index = first_per_class(full.targets.numpy(), k)
        pixels = np.rint(full.data.numpy()[index, 0] * 255).astype(np.uint8)
        arrays.update({f"x_{split}": pixels, f"y_{split}": full.targets.numpy()[index].astype(np.uint8),
                       f"{split}_index": index.astype(np.int32)})
    out = Path(__file__).with_name(FashionMNIST.small_file)
    np.savez_compressed(out, **arrays)
    print(out, out.stat().st_size, "bytes, sha256", hashlib.sha256(out.read_bytes()).hexdigest())


if __name__ == "__main__":
    main(*sys.argv[1:])
