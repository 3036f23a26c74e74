"""A piecewise-linear schedule whose breakpoints are fractions of its span."""
import numbers
from typing import List, Sequence, Tuple

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmpretrain.registry import PARAM_SCHEDULERS

#: The SplitMixer paper's schedule: 0 -> the base value at 40 % of the span
#: -> 1/20 of it at 80 % -> 0 at the end.
PAPER_POINTS = ((0, 0), (0.4, 1), (0.8, 0.05), (1, 0))


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_points(points) -> Tuple[Tuple[float, float], ...]:
    """``points`` as float pairs: fractions from 0 to 1, strictly
    increasing; factors >= 0."""
    if isinstance(points, (str, bytes)) or not isinstance(points, Sequence) \
            or not all(isinstance(p, Sequence) and len(p) == 2
                       and all(map(_number, p)) for p in points):
        raise TypeError('points must be a sequence of (fraction, factor) '
                        f'pairs of numbers, got {points!r}')
    fractions = [float(f) for f, _ in points]
    if len(points) < 2 or fractions[0] != 0 or fractions[-1] != 1 or any(
            b <= a for a, b in zip(fractions, fractions[1:])):
        raise ValueError('the fractions of points must increase strictly '
                         f'from 0 to 1, got {fractions}')
    if any(factor < 0 for _, factor in points):
        raise ValueError(f'the factors of points must be >= 0, got {points}')
    return tuple((float(f), float(v)) for f, v in points)


def interpolate(points, progress: float) -> float:
    """The curve through ``points`` at ``progress`` (clamped to [0, 1])."""
    progress = min(max(progress, 0.0), 1.0)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if progress <= x1:
            return y0 + (y1 - y0) * (progress - x0) / (x1 - x0)
    return points[-1][1]


@PARAM_SCHEDULERS.register_module()
class PiecewiseLinearParamScheduler(_ParamScheduler):
    """Set a parameter to ``base value x factor`` on a piecewise-linear curve
    whose breakpoints are fractions of the span ``[begin, end)``.

    The shape follows the length of training: leave ``end`` out of a config
    and the Runner sets it to ``max_epochs`` (or ``max_iters``). With
    ``by_epoch=True, convert_to_iter_based=True`` the value changes every
    iteration. Step ``t`` of the span uses the curve at
    ``(t + 1) / (end - begin)``, the progress reached when it finishes: the
    first step does not waste an update on a zero learning rate, the last
    uses the last factor.

    Args:
        optimizer (Optimizer | BaseOptimWrapper): The wrapped optimizer.
        param_name (str): The parameter to schedule, e.g. ``'lr'``.
        points (Sequence[tuple[float, float]]): ``(fraction, factor)`` pairs,
            fractions strictly increasing from 0 to 1. Defaults to
            :data:`PAPER_POINTS`.
        begin (int): First step of the span. Defaults to 0.
        end (int): End of the span; set by the Runner when a config leaves
            it out, required otherwise.
        last_step (int): The index of the last step. Defaults to -1.
        by_epoch (bool): Whether ``begin`` and ``end`` count epochs.
            Defaults to True.
        verbose (bool): Print the value at every update. Defaults to False.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 points: Sequence[Tuple[float, float]] = PAPER_POINTS,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        self.points = _check_points(points)
        if end == INF:
            raise ValueError(
                f'{type(self).__name__} needs `end`, since its breakpoints '
                'are fractions of [begin, end): leave it out of a config and '
                "the Runner sets it to the train loop's length")
        self.span = end - begin
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              begin=0,
                              end=INF,
                              by_epoch=True,
                              epoch_length=None,
                              **kwargs):
        """An iteration-based instance of an epoch-based config."""
        if not by_epoch or not isinstance(epoch_length, int) or \
                epoch_length <= 0:
            raise ValueError('only an epoch-based config with a positive '
                             'epoch_length converts to iterations')
        end = end if end == INF else int(end * epoch_length)
        return cls(
            *args,
            begin=int(begin * epoch_length),
            end=end,
            by_epoch=False,
            **kwargs)

    def factor_at(self, step: int) -> float:
        """The factor used during ``step`` of the span (0-based)."""
        return interpolate(self.points, (step + 1) / self.span)

    def _get_value(self) -> List[float]:
        factor = self.factor_at(self.last_step)
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class PiecewiseLinearLR(LRSchedulerMixin, PiecewiseLinearParamScheduler):
    """The learning rate on a piecewise-linear curve (see
    :class:`PiecewiseLinearParamScheduler`); by default the paper's: 0 -> lr
    at 40 % of training -> lr / 20 at 80 % -> 0 at the end."""
