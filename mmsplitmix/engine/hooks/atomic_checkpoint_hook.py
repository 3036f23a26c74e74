"""mmengine's CheckpointHook, with every file it writes replaced atomically."""
import inspect
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS

from ..checkpoint_backend import fsync_folder

LAST_CHECKPOINT = 'last_checkpoint'
STAGING = '.staging'


class _StagedRunner:
    """The runner as CheckpointHook sees it while saving: all as it is, but
    for the ``work_dir``, where CheckpointHook writes ``last_checkpoint``."""

    def __init__(self, runner, work_dir: str):
        self._runner = runner
        self.work_dir = work_dir

    def __getattr__(self, name):
        return getattr(self._runner, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints so that no crash loses a resumable one.

    Takes mmengine's :class:`~mmengine.hooks.CheckpointHook` arguments and
    saves the same files, on the local disk through the ``'atomic_local'``
    file backend (:mod:`mmsplitmix.engine.checkpoint_backend`) unless
    ``backend_args`` or ``out_dir`` say otherwise: every checkpoint is
    written to a temporary file, flushed and renamed into place, and
    outdated checkpoints (``max_keep_ckpts``, the previous best) are removed
    only once the new one is safe.

    CheckpointHook also writes ``work_dir/last_checkpoint``, the name of the
    newest checkpoint, in place with ``open(..., 'w')``; this hook lets it
    write the file into ``work_dir/.staging/`` and renames it over
    ``work_dir/last_checkpoint`` when it is complete.
    """

    def __init__(self, *args, backend_args=None, **kwargs):
        out_dir = kwargs.get('out_dir')
        local = out_dir is None or '://' not in str(out_dir)
        if (backend_args is None and kwargs.get('file_client_args') is None
                and local):
            backend_args = dict(backend='atomic_local')
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def before_train(self, runner) -> None:
        """Refuse, before training, the arguments CheckpointHook does not
        take and would hand to ``runner.save_checkpoint`` at the first save
        (a misspelt ``interval``, say)."""
        super().before_train(runner)
        takes = inspect.signature(runner.save_checkpoint).parameters
        unknown = sorted(set(self.args) - set(takes))
        if unknown and all(p.kind != p.VAR_KEYWORD for p in takes.values()):
            raise TypeError(
                f'default_hooks.checkpoint has unknown arguments {unknown}; '
                'see the arguments of mmengine\'s CheckpointHook')

    def after_train_iter(self, runner, *args, **kwargs) -> None:
        self._staged(runner, super().after_train_iter, *args, **kwargs)

    def after_train_epoch(self, runner) -> None:
        self._staged(runner, super().after_train_epoch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._staged(runner, super().after_val_epoch, metrics)

    def _staged(self, runner, save, *args, **kwargs) -> None:
        staging = osp.join(runner.work_dir, STAGING)
        if is_main_process():
            os.makedirs(staging, exist_ok=True)
        save(_StagedRunner(runner, staging), *args, **kwargs)
        staged = osp.join(staging, LAST_CHECKPOINT)
        if is_main_process() and osp.isfile(staged):
            with open(staged, 'rb') as f:
                os.fsync(f.fileno())
            os.replace(staged, osp.join(runner.work_dir, LAST_CHECKPOINT))
            fsync_folder(runner.work_dir)
