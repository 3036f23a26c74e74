from .piecewise_linear import PiecewiseLinearLR, PiecewiseLinearParamScheduler

__all__ = ['PiecewiseLinearLR', 'PiecewiseLinearParamScheduler']
