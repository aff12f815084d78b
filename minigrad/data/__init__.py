"""Data loading: datasets, the ``DataLoader``, Fashion-MNIST/MNIST readers and a progress bar.

    from minigrad.data import DataLoader, TensorDataset, random_split
    from minigrad.data.datasets import FashionMNIST
"""
from . import datasets
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .datasets import MNIST, DatasetNotFoundError, FashionMNIST
from .progress import progress

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate",
           "datasets", "FashionMNIST", "MNIST", "DatasetNotFoundError", "progress"]
