"""Stop runs that would silently give wrong results."""
import logging

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from mmsplitmix.datasets.split_classes import (check_head_classes,
                                               check_same_classes)
from mmsplitmix.utils.model_wrappers import bare_model, bare_model_cfg
from mmsplitmix.utils.saved_config import saved_model_config
from mmsplitmix.utils.state_dict_fit import (CheckpointMismatchError,
                                             check_checkpoint_fits,
                                             check_same_backbone_function,
                                             checkpoint_state_dict,
                                             compare_state_dict, describe_fit)


def _classes_of(dataloader):
    dataset = getattr(dataloader, 'dataset', None)
    metainfo = getattr(dataset, 'metainfo', None) or {}
    classes = metainfo.get('classes')
    return None if classes is None else tuple(classes)


def _head_classes(runner):
    """The number of classes the model's head scores, or None."""
    model = bare_model(getattr(runner, 'model', None))
    num_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    return num_classes if isinstance(num_classes, int) else None


HEAD_SETTING = 'model.head.num_classes'


def _flat(schedulers) -> list:
    """A runner's or a checkpoint's parameter schedulers as one list (a
    dict holds one list per optimizer)."""
    if isinstance(schedulers, dict):
        return [item for key in sorted(schedulers) for item in schedulers[key]]
    return list(schedulers or [])


def _check_resumed_schedule(runner, checkpoint, filename) -> None:
    """Resuming restores the checkpoint's schedules, so a config that
    schedules over other steps (another ``max_epochs``, batch size or
    dataset size) would run past their end at their final value."""
    current = _flat(getattr(runner, 'param_schedulers', None))
    saved = _flat(checkpoint.get('param_schedulers'))
    for scheduler, state in zip(current, saved):
        if not isinstance(state, dict) or 'end' not in state:
            continue
        span = (getattr(scheduler, 'begin',
                        None), getattr(scheduler, 'end', None))
        saved_span = (state.get('begin'), state['end'])
        if span != saved_span:
            raise CheckpointMismatchError(
                f'Checkpoint {filename!r} resumes a '
                f'{type(scheduler).__name__} over the steps '
                f'[{saved_span[0]}, {saved_span[1]}), but this config '
                f'schedules it over [{span[0]}, {span[1]}): resuming keeps '
                "the checkpoint's schedule, so the steps past its end would "
                'run at its final value (a learning rate of 0 for the '
                "paper's schedule). Resume with the run's own "
                'train_cfg.max_epochs and batch size, or start a new run '
                'from the checkpoint with load_from.')


def _checkpoint_classes(checkpoint):
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    dataset_meta = (meta or {}).get('dataset_meta') or {}
    classes = dataset_meta.get('classes')
    return None if classes is None else tuple(classes)


@HOOKS.register_module()
class ConsistencyCheckHook(Hook):
    """Check what a run loads before it trains or evaluates.

    * Checkpoint weights against the model, before they are loaded. A
      checkpoint to resume from, and with ``strict_load_from=True``
      (testing) also ``load_from``, must fit exactly, or the run stops
      with :class:`~mmsplitmix.utils.state_dict_fit.CheckpointMismatchError`
      listing the missing, unexpected and differently shaped weights. When
      fine-tuning from ``load_from`` (``strict_load_from=False``), weights
      of another shape (e.g. a head for another number of classes) are
      skipped and the log names every weight that was not loaded.
    * The config saved in the checkpoint, read without running it: its
      backbone must have the model's channel-mixer setting and activation,
      which weights of the same names and shapes do not show.
    * A resumed run must schedule its parameters (the learning rate) over
      the steps of the checkpoint's schedules, which resuming restores.
    * Classes: the training and test splits must have as many classes as
      the head scores; the validation split must have the training
      split's classes, the test split those of the checkpoint, and a
      resumed run those of its checkpoint; otherwise the labels of the two
      would not mean the same classes (:class:`~mmsplitmix.datasets.
      split_classes.SplitClassesError`).

    Args:
        strict_load_from (bool): Refuse a ``load_from`` checkpoint that
            does not fit. Defaults to False.
    """

    priority = 'VERY_HIGH'  # before hooks that edit the checkpoint

    def __init__(self, strict_load_from: bool = False):
        self.strict_load_from = strict_load_from
        self._checkpoint_classes = None
        self._resumed = False

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        filename = runner.cfg.get('load_from')
        self._resumed = bool(runner.cfg.get('resume', False))
        self._checkpoint_classes = _checkpoint_classes(checkpoint)
        check_same_backbone_function(
            saved_model_config(checkpoint),
            bare_model_cfg(runner.cfg.get('model')), filename)
        if self._resumed:
            _check_resumed_schedule(runner, checkpoint, filename)
        if self._resumed or self.strict_load_from:
            check_checkpoint_fits(runner.model, checkpoint, filename)
            return
        fit = compare_state_dict(runner.model,
                                 checkpoint_state_dict(checkpoint))
        if fit.exact:
            return
        total = len(fit.loaded) + len(fit.missing) + len(fit.mismatched)
        runner.logger.log(
            logging.WARNING,
            f'load_from {filename!r}: {len(fit.loaded)} of the model\'s '
            f'{total} tensors loaded, the others keep their '
            'initialisation: ' + '; '.join(describe_fit(fit)) + '.')

    def before_train(self, runner) -> None:
        train_classes = _classes_of(runner.train_loop.dataloader)
        check_head_classes(
            _head_classes(runner), HEAD_SETTING, train_classes,
            'train_dataloader.dataset')
        if self._resumed and self._checkpoint_classes is not None:
            check_same_classes(self._checkpoint_classes,
                               'the checkpoint resumed from', train_classes,
                               'train_dataloader.dataset')
        if runner.val_loop is not None:
            check_same_classes(train_classes, 'train_dataloader.dataset',
                               _classes_of(runner.val_loop.dataloader),
                               'val_dataloader.dataset')

    def before_test(self, runner) -> None:
        test_classes = _classes_of(runner.test_loop.dataloader)
        # the checkpoint's classes first: they name what is missing
        if self._checkpoint_classes is not None:
            check_same_classes(self._checkpoint_classes,
                               f'checkpoint {runner.cfg.get("load_from")!r}',
                               test_classes, 'test_dataloader.dataset')
        check_head_classes(
            _head_classes(runner), HEAD_SETTING, test_classes,
            'test_dataloader.dataset')
