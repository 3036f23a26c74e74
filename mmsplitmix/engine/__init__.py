"""Runtime pieces the configs need: the learning-rate schedule of the paper,
an optimizer-wrapper constructor that falls back to full precision without
an accelerator, and hooks that run a model in a faster form."""
from .hooks import ChannelsLastHook, FastInferenceHook
from .optimizers import AmpFallbackOptimWrapperConstructor
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'AmpFallbackOptimWrapperConstructor', 'PiecewiseLinearLR',
    'PiecewiseLinearParamScheduler', 'ChannelsLastHook', 'FastInferenceHook'
]
