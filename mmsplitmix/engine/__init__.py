"""Runtime pieces the configs need: the learning-rate schedule of the paper,
hooks for crash-safe checkpoints, checkpoints that fit the model and
reproducible data loading, and hooks that run a model in a faster form."""
from .hooks import (AtomicCheckpointHook, ChannelsLastHook,
                    CompiledBackboneHook, ConsistencyCheckHook,
                    FastInferenceHook, ReproducibleDataHook)
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'PiecewiseLinearLR', 'PiecewiseLinearParamScheduler',
    'AtomicCheckpointHook', 'ConsistencyCheckHook', 'ReproducibleDataHook',
    'ChannelsLastHook', 'CompiledBackboneHook', 'FastInferenceHook'
]
