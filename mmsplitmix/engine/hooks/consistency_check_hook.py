"""Stop runs that would silently give wrong results."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.optim import BaseOptimWrapper
from mmengine.runner import find_latest_checkpoint
from mmpretrain.registry import HOOKS

from ..checkpoint_fit import (CheckpointMismatchError, bare_model,
                              bare_model_cfg, check_same_function,
                              checkpoint_state_dict, compare_state_dict,
                              saved_model_config)


class SplitClassesError(ValueError):
    """A split's classes are not those its labels must mean."""


def check_same_classes(reference: Optional[Sequence[str]], reference_name,
                       classes: Optional[Sequence[str]], name) -> None:
    """Raise :class:`SplitClassesError` unless ``classes`` are
    ``reference`` in the same order; nothing when either is unknown."""
    if reference is None or classes is None or \
            tuple(reference) == tuple(classes):
        return
    missing = [c for c in reference if c not in classes]
    extra = [c for c in classes if c not in reference]
    details = ([f'missing {missing}'] if missing else
               []) + ([f'not in {reference_name}: {extra}'] if extra else [])
    raise SplitClassesError(
        f'{name} has other classes than {reference_name} ('
        f'{"; ".join(details) or "the same ones in another order"}), so '
        f'its labels would mean other classes. For image folders '
        '(CustomDataset) every split needs one folder per class of the '
        'training split (an empty one is fine); otherwise give every split '
        'the same metainfo classes.')


def _classes(loop) -> Optional[tuple]:
    dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return None if classes is None else tuple(classes)


def _flat(schedulers) -> list:
    if isinstance(schedulers, dict):  # one list per optimizer
        return [s for key in sorted(schedulers) for s in schedulers[key]]
    return list(schedulers or [])


@HOOKS.register_module()
class ConsistencyCheckHook(Hook):
    """Check what a run loads before it trains or tests.

    * Weights: a checkpoint resumed, tested or validated must fit the model
      exactly, or
      :class:`~mmsplitmix.engine.checkpoint_fit.CheckpointMismatchError`
      lists the missing, unexpected and differently shaped weights. A
      ``load_from`` for fine-tuning loads what fits (mmengine skips the
      rest) and the log names every weight it did not load.
    * The config saved in the checkpoint, read without running it: its
      backbone must have the model's ``mixer_setting`` and ``act_cfg``.
    * A resumed run must schedule its parameters over the same steps as the
      checkpoint's schedulers, which resuming restores.
    * Classes (:class:`SplitClassesError`): the training and test splits
      must have as many as the head scores; the validation split the
      training split's; a resumed run and a test those of the checkpoint.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._checkpoint_classes = None
        self._resumed = False

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        self._resumed = bool(runner.cfg.get('resume', False))
        path = runner.cfg.get('load_from') or (find_latest_checkpoint(
            runner.work_dir) if self._resumed else '')
        name = f'checkpoint {path!r}'
        meta = checkpoint.get('meta') or {}
        classes = (meta.get('dataset_meta') or {}).get('classes')
        self._checkpoint_classes = None if classes is None else tuple(classes)
        check_same_function(
            saved_model_config(checkpoint),
            bare_model_cfg(runner.cfg.get('model')), name)
        if self._resumed:
            self._check_schedule(runner, checkpoint, name)
        fit = compare_state_dict(runner.model,
                                 checkpoint_state_dict(checkpoint))
        if fit.exact:
            return
        # Runner.train() alone builds the optimizer before loading
        fine_tuning = isinstance(runner.optim_wrapper, BaseOptimWrapper)
        if self._resumed or not fine_tuning:
            raise CheckpointMismatchError(
                f'{name} does not fit the model of the config '
                f'({type(bare_model(runner.model)).__name__}): '
                f'{fit.describe()}. Was it trained with another config '
                '(architecture, number of classes)? Use that config.')
        runner.logger.warning(
            f'load_from {name}: {len(fit.loaded)} tensors loaded; the '
            f'others keep their initialisation: {fit.describe()}.')

    @staticmethod
    def _check_schedule(runner, checkpoint, name) -> None:
        saved = _flat(checkpoint.get('param_schedulers'))
        for scheduler, state in zip(_flat(runner.param_schedulers), saved):
            if not isinstance(state, dict) or 'end' not in state:
                continue
            span = (getattr(scheduler, 'begin',
                            None), getattr(scheduler, 'end', None))
            if span != (state.get('begin'), state['end']):
                raise CheckpointMismatchError(
                    f'{name} schedules {type(scheduler).__name__} over the '
                    f'steps [{state.get("begin")}, {state["end"]}), this '
                    f'config over [{span[0]}, {span[1]}): resuming keeps '
                    "the checkpoint's schedule, so steps past its end would "
                    'run at its final value (a learning rate of 0 for the '
                    "paper's schedule). Resume with the run's own "
                    'train_cfg.max_epochs and batch size, or start a new run '
                    'from the checkpoint with load_from.')

    def _check_head(self, runner, classes, split) -> None:
        head = getattr(bare_model(runner.model), 'head', None)
        num_classes = getattr(head, 'num_classes', None)
        if isinstance(num_classes, int) and classes is not None and \
                len(classes) != num_classes:
            raise SplitClassesError(
                f'{split} has {len(classes)} classes but '
                f'model.head.num_classes is {num_classes}, so its labels '
                'cannot mean the classes the model scores. Set num_classes '
                'to the number of classes of the data (of a checkpoint, the '
                'number it was trained with).')

    def before_train(self, runner) -> None:
        train_classes = _classes(runner.train_loop)
        self._check_head(runner, train_classes, 'train_dataloader.dataset')
        if self._resumed:
            check_same_classes(self._checkpoint_classes,
                               'the checkpoint resumed from', train_classes,
                               'train_dataloader.dataset')
        if runner.val_loop is not None:
            check_same_classes(train_classes, 'train_dataloader.dataset',
                               _classes(runner.val_loop),
                               'val_dataloader.dataset')

    def before_test(self, runner) -> None:
        test_classes = _classes(runner.test_loop)
        check_same_classes(self._checkpoint_classes,
                           f'checkpoint {runner.cfg.get("load_from")!r}',
                           test_classes, 'test_dataloader.dataset')
        self._check_head(runner, test_classes, 'test_dataloader.dataset')
