"""What the configs build to run safely: the checkpoint file backend, the
hooks and the learning-rate schedule of the paper."""
from .checkpoint_backend import AtomicLocalBackend, CheckpointSaveError
from .checkpoint_fit import CheckpointMismatchError
from .hooks import (AtomicCheckpointHook, ChannelsLastHook,
                    CompiledBackboneHook, ConsistencyCheckHook,
                    CorruptCheckpointError, DatasetPathVisualizationHook,
                    FastInferenceHook, ReproducibleDataHook, SafeLoadingHook,
                    SplitClassesError, UnsafeCheckpointError, WorkDirHook,
                    WorkDirInUseError, read_checkpoint,
                    safe_checkpoint_loading)
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'AtomicLocalBackend', 'CheckpointSaveError', 'CheckpointMismatchError',
    'AtomicCheckpointHook', 'ChannelsLastHook', 'CompiledBackboneHook',
    'ConsistencyCheckHook', 'CorruptCheckpointError',
    'DatasetPathVisualizationHook', 'FastInferenceHook',
    'ReproducibleDataHook', 'SafeLoadingHook', 'SplitClassesError',
    'UnsafeCheckpointError', 'WorkDirHook', 'WorkDirInUseError',
    'read_checkpoint', 'safe_checkpoint_loading', 'PiecewiseLinearLR',
    'PiecewiseLinearParamScheduler'
]
