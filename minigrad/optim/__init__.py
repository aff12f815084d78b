"""Optimizers and learning-rate schedules (``torch.optim``'s names and update rules)."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import AdaGrad, Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "AdaGrad", "RMSprop", "Adadelta", "Adamax", "NAdam",
           "RAdam", "lr_scheduler", "param_groups_no_decay"]


def param_groups_no_decay(model, weight_decay):
    """Two parameter groups: weights (≥ 2-D) with ``weight_decay``, and biases and normalization
    parameters (1-D, e.g. BatchNorm's γ and β) with ``weight_decay = 0``.

    PyTorch decays every parameter of a group; the book's weight decay (loss += ½·λ·ΣW²) touches
    only the weight matrices. Pass the result to any optimizer:

    >>> opt = minigrad.optim.SGD(minigrad.optim.param_groups_no_decay(model, 1e-4), lr=0.1)

    ``model`` is a Module or an iterable of parameters; parameters with ``requires_grad=False`` are
    skipped, and an empty group is left out.
    """
    params = model.parameters() if hasattr(model, "parameters") else model
    decay, no_decay = [], []
    for p in params:
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
