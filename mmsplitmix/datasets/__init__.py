from .local_datasets import (LocalCIFAR10, LocalCIFAR100, LocalFlowers102,
                             LocalFood101, LocalImageNet)

__all__ = [
    'LocalCIFAR10', 'LocalCIFAR100', 'LocalFlowers102', 'LocalFood101',
    'LocalImageNet'
]
