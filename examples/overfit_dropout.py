"""Overfitting and dropout ("Deep Learning from Scratch" §6.4.3, Fig. 6-23).

    python examples/overfit_dropout.py [--quick] [--out DIR] [--epochs 300] [--dropout 0.2]

The book's experiment: the overfitting setup of §6.4.1 (784-[100]×6-10 ReLU MLP, He init, the first
300 training images, plain SGD lr 0.01, batch 100 = 3 steps per epoch) with dropout after every hidden
ReLU, ratio 0.2, trained for 300 epochs (the book's 301), compared here with the same net without
dropout trained from the same seed for as long. Accuracy is measured in eval mode (dropout off) on the
300 training images and on the whole test set before training and after every epoch. What it shows:
dropout shrinks the train–test gap; training accuracy no longer reaches 1.0. The book (MNIST, its
non-inverted dropout): the gap shrinks, train ≈ 0.67 / test ≈ 0.55 at the end of its plot.

``nn.Dropout`` is inverted dropout (PyTorch's: survivors scaled by 1/(1 − p) in training, identity in
eval); the book's layer scales by (1 − p) at test time instead. Same expectation, same predictions.

Shares data, training, table and plot with ``overfit_weight_decay.py`` (:func:`compare_overfitting`).
Writes ``overfit_dropout.png`` and ``overfit_dropout.json`` into ``--out``. ``--quick``: 20 epochs on
the bundled subset (for the tests).
"""
import sys

from _common import mlp, run
from overfit_weight_decay import HIDDEN, compare_overfitting, overfit_parser


def main(argv=None):
    parser = overfit_parser(__doc__.splitlines()[0], epochs=300)
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout ratio (default 0.2, as the book)")
    args = parser.parse_args(argv)
    runs = [("no regularization", lambda: mlp(HIDDEN, init="he"), 0.0),
            (f"dropout {args.dropout:g}", lambda: mlp(HIDDEN, init="he", dropout=args.dropout), 0.0)]
    return compare_overfitting(args, runs, "overfit_dropout",
                               book="train 1.00 / test ≈ 0.75 without; with dropout 0.2 the gap shrinks "
                                    "(train ≈ 0.67 / test ≈ 0.55 with the book's code)")


if __name__ == "__main__":
    run(main, sys.argv[1:])
