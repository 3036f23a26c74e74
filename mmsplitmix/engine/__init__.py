"""Runtime pieces the configs need: the learning-rate schedule of the paper
and an optimizer-wrapper constructor that falls back to full precision
without an accelerator."""
from .optimizers import AmpFallbackOptimWrapperConstructor
from .schedulers import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = [
    'AmpFallbackOptimWrapperConstructor', 'PiecewiseLinearLR',
    'PiecewiseLinearParamScheduler'
]
