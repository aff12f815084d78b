"""minigrad.data.transforms: torchvision's semantics, written out with torch as the arithmetic oracle
(torchvision itself is not a test dependency)."""
import numpy as np
import pytest
import torch

import minigrad
from minigrad.data import transforms as T
from minigrad.data.datasets import FashionMNIST
from minigrad.tensor import Tensor


def test_to_tensor_scales_uint8_and_moves_channels_first(rng):
    gray = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = T.ToTensor()(gray)
    assert out.shape == (1, 5, 7) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy()[0], torch.tensor(gray).float().div(255).numpy())
    np.testing.assert_array_equal(T.ToTensor()(rgb).numpy(), torch.tensor(rgb).permute(2, 0, 1).float().div(255).numpy())
    floats = rng.standard_normal((4, 4))
    assert T.ToTensor()(floats).dtype == np.float64  # other dtypes are not rescaled
    with pytest.raises(ValueError, match="2 or 3 dimensional"):
        T.ToTensor()(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="numpy array"):
        T.ToTensor()(minigrad.zeros(1, 2, 2))


def test_normalize_per_channel(rng):
    x = rng.random((3, 4, 5)).astype(np.float32)
    mean, std = (0.5, 0.25, 0.1), (0.2, 0.3, 0.4)
    expected = (torch.tensor(x) - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    out = T.Normalize(mean, std)(Tensor._wrap(x.copy()))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    batch = Tensor._wrap(np.stack([x, x]))
    np.testing.assert_allclose(T.Normalize(mean, std)(batch).numpy()[1], expected.numpy(), rtol=1e-6)
    inplace = Tensor._wrap(x.copy())
    assert T.Normalize(mean, std, inplace=True)(inplace) is inplace
    np.testing.assert_allclose(inplace.numpy(), expected.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.0,), (0.0,))
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.0,), (1.0,))(minigrad.zeros(1, 2, 2, dtype=minigrad.int64))


@pytest.mark.parametrize("as_tensor", [False, True])
def test_random_crop_is_a_window_of_the_padded_image(rng, as_tensor):
    img = rng.integers(1, 256, (6, 8), dtype=np.uint8)
    x = Tensor._wrap(img[None].copy()) if as_tensor else img
    padded = np.pad(img, ((1, 3), (2, 0)))  # padding (left, top, right, bottom) = (2, 1, 0, 3)
    seen = set()
    for _ in range(40):
        out = T.RandomCrop((5, 4), padding=(2, 1, 0, 3))(x)
        crop = out.numpy()[0] if as_tensor else out
        assert crop.shape == (5, 4)
        hits = [(i, j) for i in range(padded.shape[0] - 4) for j in range(padded.shape[1] - 3)
                if np.array_equal(padded[i:i + 5, j:j + 4], crop)]
        assert hits
        seen.add(hits[0])
    assert len(seen) > 5  # the window moves
    assert T.RandomCrop(10, pad_if_needed=True)(img).shape == (10, 10)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(9)(img)


def test_random_crop_and_flip_follow_manual_seed(rng):
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    pipeline = T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip()])
    minigrad.manual_seed(5)
    a = [pipeline(img) for _ in range(6)]
    minigrad.manual_seed(5)
    b = [pipeline(img) for _ in range(6)]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert a[0].shape == (6, 6, 3)


def test_horizontal_flip_probabilities(rng):
    img = rng.integers(0, 256, (3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    t = Tensor._wrap(img[None].astype(np.float32))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(t).numpy(), torch.tensor(t.numpy()).flip(-1).numpy())
    flips = sum(T.RandomHorizontalFlip()(img) is not img for _ in range(400))
    assert 160 < flips < 240  # p = 0.5


def test_fashion_mnist_transform_pipeline():
    plain = FashionMNIST(subset="small", train=False)
    to_tensor = FashionMNIST(subset="small", train=False, transform=T.ToTensor(), target_transform=lambda y: y + 100)
    x, y = to_tensor[7]
    np.testing.assert_array_equal(x.numpy(), plain[7][0].numpy())  # uint8 round trip is exact
    assert y == plain[7][1] + 100
    normalized = FashionMNIST(subset="small", train=False,
                              transform=T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))]))
    np.testing.assert_allclose(normalized[3][0].numpy(), (plain[3][0].numpy() - 0.2860) / 0.3530, rtol=1e-5, atol=1e-6)
    xb, yb = next(iter(minigrad.data.DataLoader(normalized, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.tolist() == [plain[i][1] for i in range(4)]
    np.testing.assert_allclose(xb.numpy()[3], normalized[3][0].numpy())
