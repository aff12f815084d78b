"""minigrad: a readable autograd engine with PyTorch's API and compiled Cython kernels."""
from ._ops import get_num_threads, set_num_threads
__version__ = "0.1.0"
