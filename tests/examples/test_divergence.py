"""A diverging run (learning rate far too large) stops at the first non-finite loss with a message
that says what happened and what to try, instead of training on NaN for the remaining epochs."""
import numpy as np
import pytest

from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset


def test_huge_learning_rate_stops_with_a_clear_message(load_example, capsys):
    common = load_example("_common")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = optim.SGD(model.parameters(), lr=1e6)  # every step overshoots by orders of magnitude
    with pytest.raises(common.NonFiniteLoss) as err:
        for epoch in range(100):
            common.train_epoch(model, loader, opt, desc=f"epoch {epoch + 1}", quiet=True)
    message = str(err.value)
    assert message.split(" at batch")[0] in ("epoch 1: the loss became inf", "epoch 1: the loss became nan")
    assert "(learning rate 1e+06)" in message
    assert "Try a smaller learning rate" in message
    batch = int(message.split("at batch ")[1].split("/")[0])
    assert 1 < batch <= len(loader)  # stopped in the first epoch, at the batch that diverged
    # through the examples' entry point: one line on stderr, exit status 1, no traceback
    with pytest.raises(SystemExit) as exit_info:
        common.run(lambda argv: common.train_epoch(model, loader, opt, quiet=True))
    assert exit_info.value.code == 1
    err_text = capsys.readouterr().err
    assert err_text.startswith("error: train: the loss became") and "Traceback" not in err_text
