"""examples/pytorch_port/: PyTorch training scripts that run on minigrad with only their import lines
changed. Each runs here on the bundled Fashion-MNIST subset (the datasets are swapped for it), and
the scripts' text is checked: minigrad appears in import lines only."""
import re

import numpy as np
import pytest

from minigrad.data import Subset, datasets

SCRIPTS = ["mnist_cnn", "fashion_mlp"]


@pytest.fixture
def bundled_subset(monkeypatch):
    """Both vision datasets read the first 600 training / 200 test images of the bundled Fashion-MNIST
    subset (every class, as the subset is ordered by class within blocks), to keep the test short."""
    real = datasets.FashionMNIST

    def small(*args, train=True, **kwargs):
        full = real(*args, train=train, subset="small", **kwargs)
        return Subset(full, np.random.default_rng(0).permutation(len(full))[:600 if train else 200].tolist())
    monkeypatch.setattr(datasets, "MNIST", small)
    monkeypatch.setattr(datasets, "FashionMNIST", small)


@pytest.mark.parametrize("name", SCRIPTS)
def test_only_the_imports_name_minigrad(load_example, name):
    path = load_example(f"pytorch_port/{name}").__file__
    code = re.sub(r'^""".*?"""', "", open(path, encoding="utf-8").read(), flags=re.S)  # the docstring
    lines = [line.strip() for line in code.splitlines() if "minigrad" in line]
    assert lines and all(re.match(r"(import minigrad[\w.]* as \w+|from minigrad[\w.]* import [\w, ]+)$", line)
                         for line in lines), lines
    # the aliases are PyTorch's names, so the rest of the script is PyTorch code
    aliases = {re.sub(r".* as (\w+)$|from \S+ import (.+)$", r"\1\2", line) for line in lines}
    assert aliases & {"torch", "nn", "F", "optim"}


def test_mnist_cnn_runs(load_example, bundled_subset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    script = load_example("pytorch_port/mnist_cnn")
    accuracy = script.main(["--epochs", "1", "--dry-run", "--test-batch-size", "100", "--save-model"])
    out = capsys.readouterr().out
    assert "Train Epoch: 1 [0/600 (0%)]" in out
    assert re.search(r"Test set: Average loss: \d+\.\d{4}, Accuracy: \d+/200 \(\d+%\)", out)
    assert 0.0 <= accuracy <= 1.0 and (tmp_path / "mnist_cnn.pt").is_file()


def test_fashion_mlp_runs_and_learns(load_example, bundled_subset, tmp_path, capsys):
    import minigrad
    minigrad.manual_seed(0)
    script = load_example("pytorch_port/fashion_mlp")
    results = script.main(["--epochs", "2", "--lr", "0.1", "--model-path", str(tmp_path / "model.pth")])
    out = capsys.readouterr().out
    assert "Shape of X [N, C, H, W]: (64, 1, 28, 28)" in out and "Using cpu device" in out
    predicted, actual = re.search(r'Predicted: "(.+)", Actual: "(.+)"', out).groups()
    assert predicted in script.CLASSES and actual in script.CLASSES
    (acc1, loss1), (acc2, loss2) = results
    assert loss2 < loss1 and acc2 > 0.3  # 2 epochs on 600 images: well above chance (0.1); measured 0.55
