from .local_datasets import (CorruptDatasetError, DatasetNotFoundError,
                             LocalCIFAR10, LocalCIFAR100, LocalFlowers102,
                             LocalFood101, LocalImageNet)
from .transforms import TorchvisionRandAugment
from .workers import SampleSeeding

__all__ = [
    'LocalCIFAR10', 'LocalCIFAR100', 'LocalFlowers102', 'LocalFood101',
    'LocalImageNet', 'CorruptDatasetError', 'DatasetNotFoundError',
    'SampleSeeding', 'TorchvisionRandAugment'
]
