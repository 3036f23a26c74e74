"""A piecewise-linear schedule whose breakpoints are fractions of its span."""
import numbers
from typing import List, Sequence, Tuple

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmpretrain.registry import PARAM_SCHEDULERS


def _check_points(points) -> Tuple[Tuple[float, float], ...]:
    """Validate ``points``: (fraction, factor) pairs, fractions from 0 to 1
    in increasing order, factors >= 0."""
    if isinstance(points, (str, bytes)) or not isinstance(points, Sequence):
        raise TypeError('points must be a sequence of (fraction, factor) '
                        f'pairs, got {type(points).__name__}')
    checked = []
    for point in points:
        if (isinstance(point, (str, bytes)) or not isinstance(point, Sequence)
                or len(point) != 2 or not all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool)
                    for v in point)):
            raise TypeError('every item of points must be a pair of numbers '
                            f'(fraction, factor), got {point!r}')
        checked.append((float(point[0]), float(point[1])))
    if len(checked) < 2:
        raise ValueError('points needs at least two (fraction, factor) pairs, '
                         f'got {len(checked)}')
    fractions = [fraction for fraction, _ in checked]
    if fractions[0] != 0.0 or fractions[-1] != 1.0:
        raise ValueError('the fractions of points must start at 0 and end at '
                         f'1 (the start and the end of the span), got '
                         f'{fractions}')
    if any(b <= a for a, b in zip(fractions, fractions[1:])):
        raise ValueError('the fractions of points must increase strictly, '
                         f'got {fractions}')
    if any(factor < 0 for _, factor in checked):
        raise ValueError('the factors of points must be >= 0, got '
                         f'{[factor for _, factor in checked]}')
    return tuple(checked)


def interpolate(points: Sequence[Tuple[float, float]],
                progress: float) -> float:
    """Factor of the piecewise-linear curve through ``points`` at
    ``progress`` (clamped to [0, 1])."""
    progress = min(max(progress, 0.0), 1.0)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if progress <= x1:
            return y0 + (y1 - y0) * (progress - x0) / (x1 - x0)
    return points[-1][1]


@PARAM_SCHEDULERS.register_module()
class PiecewiseLinearParamScheduler(_ParamScheduler):
    """Set a parameter to ``base value x factor`` on a piecewise-linear curve
    whose breakpoints are fractions of the span ``[begin, end)``.

    Because the breakpoints are fractions, the shape follows the length of
    the span: leave ``end`` out of a config and mmengine's Runner sets it to
    ``max_epochs`` (or ``max_iters``), so a shorter run keeps the same shape.
    With ``by_epoch=True`` and ``convert_to_iter_based=True`` the value
    changes every iteration.

    The value used during step ``t`` (counted from ``begin``) is the curve at
    ``(t + 1) / (end - begin)``, the progress reached when that step
    finishes. The last step of the span therefore uses the last factor, and
    the first step does not waste an update on a zero learning rate.

    Args:
        optimizer (Optimizer | BaseOptimWrapper): The wrapped optimizer.
        param_name (str): The parameter to schedule, e.g. ``'lr'``.
        points (Sequence[tuple[float, float]]): ``(fraction, factor)`` pairs,
            fractions strictly increasing from 0 to 1; the value at fraction
            ``f`` of the span is ``factor`` times the base value.
            Defaults to the SplitMixer paper's schedule,
            ``((0, 0), (0.4, 1), (0.8, 0.05), (1, 0))``: from 0 up to the base
            value at 40 % of the span, down to 1/20 of it at 80 %, and to 0
            at the end.
        begin (int): Step at which the schedule starts. Defaults to 0.
        end (int): Step at which it ends. Must be set; mmengine's Runner sets
            it to the length of training when a config leaves it out.
        last_step (int): The index of the last step, for resuming without a
            state dict. Defaults to -1.
        by_epoch (bool): Whether ``begin`` and ``end`` count epochs.
            Defaults to True.
        verbose (bool): Print the value at every update. Defaults to False.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 points: Sequence[Tuple[float, float]] = ((0, 0), (0.4, 1),
                                                          (0.8, 0.05), (1, 0)),
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        self.points = _check_points(points)
        if end == INF:
            raise ValueError(
                f'{type(self).__name__} needs `end`: its breakpoints are '
                'fractions of [begin, end). In a config, leave `end` out and '
                "the Runner sets it to the train loop's max_epochs/max_iters; "
                'when building it by hand, pass end explicitly.')
        self.span = end - begin
        super().__init__(
            optimizer,
            param_name=param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              begin=0,
                              end=INF,
                              by_epoch=True,
                              epoch_length=None,
                              **kwargs):
        """Build an iteration-based instance from an epoch-based config."""
        if not by_epoch:
            raise ValueError('only an epoch-based config (by_epoch=True) can '
                             'be converted to iteration-based')
        if not isinstance(epoch_length, int) or epoch_length <= 0:
            raise ValueError('epoch_length must be a positive int, got '
                             f'{epoch_length!r}')
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def factor_at(self, step: int) -> float:
        """Factor applied to the base value during ``step`` of the span
        (0-based, counted from ``begin``)."""
        return interpolate(self.points, (step + 1) / self.span)

    def _get_value(self) -> List[float]:
        factor = self.factor_at(self.last_step)
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class PiecewiseLinearLR(LRSchedulerMixin, PiecewiseLinearParamScheduler):
    """Learning rate on a piecewise-linear curve whose breakpoints are
    fractions of the span ``[begin, end)``; see
    :class:`PiecewiseLinearParamScheduler`.

    The default ``points`` are the SplitMixer paper's schedule: 0 -> lr at
    40 % of training -> lr / 20 at 80 % -> 0 at the end, where lr is the
    optimizer's learning rate.

    Args:
        optimizer (Optimizer | BaseOptimWrapper): The wrapped optimizer.
        points (Sequence[tuple[float, float]]): ``(fraction, factor)`` pairs.
            Defaults to ``((0, 0), (0.4, 1), (0.8, 0.05), (1, 0))``.
        begin (int): Step at which the schedule starts. Defaults to 0.
        end (int): Step at which it ends; left out of a config, the Runner
            sets it to the length of training.
        last_step (int): The index of the last step. Defaults to -1.
        by_epoch (bool): Whether ``begin`` and ``end`` count epochs.
            Defaults to True.
        verbose (bool): Print the value at every update. Defaults to False.
    """
