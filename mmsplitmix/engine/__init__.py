"""Runtime pieces the configs need: the learning-rate schedule of the paper,
an optimizer-wrapper constructor that falls back to full precision without
an accelerator, hooks for crash-safe checkpoints, checkpoints that fit the
model and reproducible data loading, and hooks that run a model in a faster
form."""
from .hooks import (AtomicCheckpointHook, ChannelsLastHook,
                    ConsistencyCheckHook, FastInferenceHook,
                    ReproducibleDataHook)
from .optimizers import AmpFallbackOptimWrapperConstructor
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'AmpFallbackOptimWrapperConstructor', 'PiecewiseLinearLR',
    'PiecewiseLinearParamScheduler', 'AtomicCheckpointHook',
    'ConsistencyCheckHook', 'ReproducibleDataHook', 'ChannelsLastHook',
    'FastInferenceHook'
]
