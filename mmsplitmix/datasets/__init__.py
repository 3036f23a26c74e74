from .local_datasets import (CorruptDatasetError, DatasetNotFoundError,
                             LocalCIFAR10, LocalCIFAR100, LocalFlowers102,
                             LocalFood101, LocalImageNet)
from .split_classes import SplitClassesError, check_same_classes
from .workers import (EpochWorkerInit, SampleSeeding, main_process_threads,
                      sample_seed, stream_seed)

__all__ = [
    'LocalCIFAR10', 'LocalCIFAR100', 'LocalFlowers102', 'LocalFood101',
    'LocalImageNet', 'CorruptDatasetError', 'DatasetNotFoundError',
    'SplitClassesError', 'check_same_classes', 'EpochWorkerInit',
    'main_process_threads', 'stream_seed', 'SampleSeeding', 'sample_seed'
]
