"""The "Deep Learning from Scratch" ch. 6 examples, each run with --quick in-process: the plots and the
JSON of numbers are written, the JSON holds what main() returned, and the loss went down."""
import json
import math

import numpy as np
import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def quick(load_example, tmp_path_factory, name, pngs):
    """Run ``examples/<name>.py --quick``; check its PNGs and JSON; return the JSON's content."""
    out = tmp_path_factory.mktemp(name)
    summary = load_example(name).main(["--quick", "--quiet", "--out", str(out)])
    for png in pngs:
        assert (out / png).read_bytes()[:8] == PNG_MAGIC, png
    data = json.loads((out / f"{name}.json").read_text())
    assert data["table"] == summary["table"] and "bundled Fashion-MNIST subset" in data["data"]
    assert data["settings"]["quick"] is True
    return data


def went_down(losses, n=5, factor=1.0):
    losses = np.asarray(losses)
    assert np.all(np.isfinite(losses)) and len(losses) >= 2 * n
    return losses[-n:].mean() < factor * losses[:n].mean()


# Each example runs once per module; the tests below share its result.
EXAMPLES = {
    "batchnorm": ("batchnorm_vs_plain", ["batchnorm_vs_plain.png"]),
    "weight_decay": ("overfit_weight_decay", ["overfit_weight_decay.png"]),
    "dropout": ("overfit_dropout", ["overfit_dropout.png"]),
    "optimizers": ("optimizer_compare", ["optimizer_compare.png"]),
    "weight_init": ("weight_init_compare", ["weight_init_compare.png", "weight_init_histograms_sigmoid.png",
                                            "weight_init_histograms_relu.png"]),
}


@pytest.fixture(scope="module")
def example(load_example, tmp_path_factory):
    """``example(key)``: the JSON of the quick run of ``EXAMPLES[key]``, run on first use."""
    results = {}

    def run(key):
        if key not in results:
            results[key] = quick(load_example, tmp_path_factory, *EXAMPLES[key])
        return results[key]
    return run


def test_batchnorm_vs_plain(example):
    batchnorm = example("batchnorm")
    panels = batchnorm["panels"]
    assert [p["std"] for p in panels] == pytest.approx(np.logspace(0, -4, 4).tolist())
    epochs = batchnorm["settings"]["epochs"]
    wins = 0
    for p in panels:
        assert len(p["bn"]["train_acc"]) == epochs + 1  # epoch 0 and every epoch after it
        wins += p["bn"]["train_acc"][-1] > p["plain"]["train_acc"][-1]
    assert batchnorm["bn_wins"] == wins
    # with std 0.046 and 0.0022 the BN net learns within the few quick steps
    for p in panels[1:3]:
        assert went_down(p["bn"]["losses"], factor=0.95), p["std"]


def test_batchnorm_plain_run_that_overflows_stops_as_diverged(example):
    plain = example("batchnorm")["panels"][0]["plain"]  # std 1: logits of order 1e5 at the start
    assert plain["diverged_epoch"] == 1 and len(plain["train_acc"]) == 1


@pytest.mark.parametrize("name", ["weight_decay", "dropout"])
def test_overfit_examples(name, example):
    data = example(name)
    plain, regularized = data["runs"]
    assert plain["weight_decay"] == 0 and regularized["label"] != plain["label"]
    for run in data["runs"]:
        assert len(run["train_acc"]) == len(run["test_acc"]) == data["settings"]["epochs"] + 1
        assert went_down(run["losses"], factor=0.95), run["label"]
    assert went_down(plain["losses"], factor=0.8)


def test_both_overfit_examples_share_the_plain_run(example):
    weight_decay, dropout = example("weight_decay"), example("dropout")
    # same seed, data and model: the unregularized run is the same in both scripts
    assert weight_decay["runs"][0]["losses"] == dropout["runs"][0]["losses"]
    assert weight_decay["runs"][1]["weight_decay"] == 0.1


def test_optimizer_compare(example):
    optimizers = example("optimizers")
    results = optimizers["results"]
    assert list(results) == ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "AdamW"]
    for name, r in results.items():
        assert len(r["losses"]) == 40 and went_down(r["losses"]), name
    assert optimizers["slowest"] == max(results, key=lambda n: results[n]["final_loss"]) == "SGD"


def test_weight_init_compare(example):
    weight_init = example("weight_init")
    results = weight_init["results"]
    assert went_down(results["He"]["losses"], factor=0.8)
    # std 0.01 through 5 layers: the output is ~0, the loss stays at ln 10
    assert results["std 0.01"]["final_loss"] == pytest.approx(math.log(10), abs=2e-3)
    assert results["He"]["final_loss"] < results["Xavier"]["final_loss"] < results["std 0.01"]["final_loss"]
    spread = weight_init["activation_std"]
    assert min(spread["sigmoid"]["std 1"]) > 0.4  # saturated at 0 and 1
    assert max(spread["sigmoid"]["std 0.01"][1:]) < 0.02  # all near 0.5
    assert spread["relu"]["std 0.01"][-1] < 1e-4 < 0.3 < min(spread["relu"]["He"])
    assert spread["relu"]["Xavier"][-1] < spread["relu"]["Xavier"][0]  # shrinks with depth


def test_format_table_is_markdown(load_example):
    table = load_example("_common").format_table(["a", "b"], [["x", 0.5], [2, 1 / 3]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x | 0.5000 |", "| 2 | 0.3333 |"]


@pytest.mark.parametrize("name, counted", [("optimizer_compare", "--iterations"), ("weight_init_compare", "--iterations"),
                                           ("bn_paper_mnist", "--steps"), ("bn_smoothness", "--steps")])
def test_step_counted_examples_offer_no_epochs_option(load_example, name, counted, capsys):
    module = load_example(name)
    with pytest.raises(SystemExit):
        module.main(["--epochs", "3"])
    assert "unrecognized arguments: --epochs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        module.main(["--help"])
    help_text = capsys.readouterr().out
    assert counted in help_text and "--epochs" not in help_text


def test_epoch_counted_example_keeps_its_epochs_option(load_example, capsys):
    with pytest.raises(SystemExit):
        load_example("simple_convnet").main(["--help"])
    assert "--epochs" in capsys.readouterr().out
