"""Runtime pieces the configs need: the learning-rate schedule of the paper,
hooks for crash-safe checkpoints, checkpoints that fit the model and
reproducible data loading, hooks that run a model in a faster form, and
drawings of predictions that keep the dataset's folders."""
from .hooks import (AtomicCheckpointHook, ChannelsLastHook,
                    CompiledBackboneHook, ConsistencyCheckHook,
                    DatasetPathVisualizationHook, FastInferenceHook,
                    ReproducibleDataHook)
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'PiecewiseLinearLR', 'PiecewiseLinearParamScheduler',
    'AtomicCheckpointHook', 'ConsistencyCheckHook', 'ReproducibleDataHook',
    'ChannelsLastHook', 'CompiledBackboneHook', 'FastInferenceHook',
    'DatasetPathVisualizationHook'
]
