from .atomic_checkpoint_hook import AtomicCheckpointHook
from .consistency_check_hook import ConsistencyCheckHook
from .reproducible_data_hook import ReproducibleDataHook

__all__ = [
    'AtomicCheckpointHook', 'ConsistencyCheckHook', 'ReproducibleDataHook'
]
