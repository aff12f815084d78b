"""Data loading: datasets, the ``DataLoader``, Fashion-MNIST/MNIST readers and a progress bar.

    from minigrad.data import DataLoader, TensorDataset, random_split
    from minigrad.data.datasets import FashionMNIST
"""
from . import datasets, transforms
from .dataloader import DataLoader, default_collate, get_worker_info
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import MNIST, DatasetNotFoundError, FashionMNIST
from .progress import progress
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader", "default_collate",
           "get_worker_info", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "datasets", "transforms", "FashionMNIST", "MNIST",
           "DatasetNotFoundError", "progress"]
