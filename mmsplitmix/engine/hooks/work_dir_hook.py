"""A work directory holds one run."""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.optim import BaseOptimWrapper
from mmpretrain.registry import HOOKS

from ..checkpoint_backend import AtomicLocalBackend
from .atomic_checkpoint_hook import LAST_CHECKPOINT
from .safe_loading_hook import (CorruptCheckpointError, UnsafeCheckpointError,
                                read_checkpoint)


class WorkDirInUseError(RuntimeError):
    """A new run was started in a work directory that holds another's
    checkpoints."""


def checkpoint_location(work_dir: str,
                        hook: CheckpointHook) -> Optional[Tuple[str, str]]:
    """``(folder, file name template)`` of the numbered checkpoints ``hook``
    saves for a run in ``work_dir``, before its ``before_train``; None for a
    remote ``out_dir``."""
    out_dir = hook.out_dir
    if out_dir is None or out_dir == work_dir:
        return work_dir, hook.filename_tmpl
    if '://' in str(out_dir):
        return None
    basename = osp.basename(work_dir.rstrip(osp.sep))
    return osp.join(out_dir, basename), hook.filename_tmpl


def numbered_checkpoints(folder: str, template: str) -> List[str]:
    """The checkpoints ``template`` names in ``folder``, newest first."""
    prefix, _, suffix = template.partition('{}')
    pattern = re.compile(re.escape(prefix) + r'(\d+)' + re.escape(suffix))
    found = []
    for name in os.listdir(folder) if osp.isdir(folder) else ():
        match = pattern.fullmatch(name)
        if match and osp.isfile(osp.join(folder, name)):
            found.append((int(match.group(1)), osp.join(folder, name)))
    return [path for _, path in sorted(found, reverse=True)]


def run_files(work_dir: str, folder: str, template: str) -> List[str]:
    """The files of a run: ``last_checkpoint``, its numbered and best
    checkpoints."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    files = [pointer] if osp.isfile(pointer) else []
    files += numbered_checkpoints(folder, template)
    if osp.isdir(folder):
        files += [
            osp.join(folder, name) for name in sorted(os.listdir(folder))
            if name.startswith('best_') and name.endswith('.pth')
        ]
    return files


def _read_pointer(pointer: str) -> Optional[str]:
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8', errors='replace') as f:
        return f.read().strip() or None


def _unresumable(path: str) -> Optional[str]:
    """Why the run cannot resume from ``path``; None if it can."""
    try:
        checkpoint = read_checkpoint(path)
    except (FileNotFoundError, CorruptCheckpointError,
            UnsafeCheckpointError) as error:
        return str(error)
    if not (isinstance(checkpoint, dict) and 'meta' in checkpoint
            and 'state_dict' in checkpoint):
        return f'{path!r} is not a training checkpoint (no meta, state_dict)'
    return None


@HOOKS.register_module()
class WorkDirHook(Hook):
    """Keep one run per work directory, and resume it from its newest
    readable checkpoint.

    Before training loads or resumes anything (``before_run``):

    * a run resumed without a named checkpoint (``resume=True``,
      ``load_from=None``, as ``tools/train.py --resume``) continues from
      the newest checkpoint that loads: the one ``last_checkpoint`` names,
      else the numbered checkpoints from the newest down. Each file skipped
      is named in a warning, and ``last_checkpoint`` is replaced, atomically,
      to name the one chosen. With none, the run starts from scratch, with a
      warning (an unreadable ``last_checkpoint`` is renamed
      ``last_checkpoint.unreadable``);
    * a new run is refused (:class:`WorkDirInUseError`) where the work
      directory holds another run's checkpoints: it would overwrite some of
      them and keep others, and a later resume could mix the two runs.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._checked = False

    def before_run(self, runner) -> None:
        # optim_wrapper is built before before_run by Runner.train() alone
        if self._checked or not isinstance(runner.optim_wrapper,
                                           BaseOptimWrapper):
            return
        self._checked = True
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        location = hooks and checkpoint_location(runner.work_dir, hooks[0])
        if not location:
            return
        if not runner.cfg.get('resume', False):
            self._refuse_used_work_dir(runner, *location)
        elif runner.cfg.get('load_from') is None:
            if is_main_process():
                self._point_at_newest_readable(runner, *location)
            barrier()

    @staticmethod
    def _refuse_used_work_dir(runner, folder, template) -> None:
        files = run_files(runner.work_dir, folder, template)
        if files:
            names = ', '.join(osp.basename(path) for path in files[:5])
            more = f' and {len(files) - 5} more' if len(files) > 5 else ''
            raise WorkDirInUseError(
                f'work dir {runner.work_dir!r} holds the checkpoints of '
                f'another run ({names}{more}); a new run there would mix '
                'with them. Resume that run (tools/train.py --resume), train '
                'into another work dir (--work-dir), or move its files away '
                '(tools/train.py --new-run moves them to previous_runs/).')

    @staticmethod
    def _point_at_newest_readable(runner, folder, template) -> None:
        pointer = osp.join(runner.work_dir, LAST_CHECKPOINT)
        named = _read_pointer(pointer)
        candidates = [named] if named else []
        candidates += [
            path for path in numbered_checkpoints(folder, template)
            if named is None or osp.abspath(path) != osp.abspath(named)
        ]
        for path in candidates:
            reason = _unresumable(path)
            if reason is None:
                if path != named:
                    AtomicLocalBackend().put_text(path, pointer)
                runner.logger.info(f'Resuming from {path!r}.')
                return
            runner.logger.warning(
                f'Resume: skipping checkpoint {path!r}: {reason}')
        if osp.isfile(pointer):
            os.replace(pointer, pointer + '.unreadable')
        runner.logger.warning(
            f'Resume: no checkpoint to resume from in {folder!r}: training '
            'starts from scratch.')
