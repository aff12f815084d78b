"""Layers and models: ``Module`` and its subclasses, ``init``, and ``functional`` (as in PyTorch)."""
import sys

from .. import functional
from . import init
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .linear import Flatten, Identity, Linear
from .module import Module, Parameter

# `import minigrad.nn.functional as F` works as in PyTorch: it is minigrad.functional.
sys.modules[__name__ + ".functional"] = functional
