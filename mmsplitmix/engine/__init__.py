"""Runtime pieces the configs need: the learning-rate schedule of the paper,
an optimizer-wrapper constructor that falls back to full precision without
an accelerator, and hooks for crash-safe checkpoints, checkpoints that fit
the model and reproducible data loading."""
from .hooks import (AtomicCheckpointHook, ConsistencyCheckHook,
                    ReproducibleDataHook)
from .optimizers import AmpFallbackOptimWrapperConstructor
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'AmpFallbackOptimWrapperConstructor', 'PiecewiseLinearLR',
    'PiecewiseLinearParamScheduler', 'AtomicCheckpointHook',
    'ConsistencyCheckHook', 'ReproducibleDataHook'
]
