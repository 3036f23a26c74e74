"""The checkpoints of a work directory: which one to resume from, and
whether the directory already holds a run.

A work directory holds one run. ``--resume`` continues it from its newest
readable checkpoint (the one ``last_checkpoint`` names, else the numbered
checkpoints from the newest down), skipping unreadable files with a
warning. Starting a new run in a directory that holds checkpoints is
refused unless asked for, because the new run would overwrite some of the
old run's files and leave others, and a later resume could mix the two.
"""
import logging
import os
import os.path as osp
import re
import shutil
import time
from typing import List, Optional, Tuple

from mmengine.logging import print_log

from .atomic_io import is_temporary_file
from .checkpoint import (CorruptCheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file)

LAST_CHECKPOINT = 'last_checkpoint'
PREVIOUS_RUNS = 'previous_runs'


class WorkDirInUseError(RuntimeError):
    """The work directory holds the checkpoints of another run."""


def checkpoint_location(cfg) -> Tuple[str, str]:
    """The folder the checkpoint hook of ``cfg`` saves to and its file name
    template (``epoch_{}.pth`` or ``iter_{}.pth`` unless configured)."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    by_epoch = hook.get('by_epoch', True)
    template = hook.get('filename_tmpl') or ('epoch_{}.pth'
                                             if by_epoch else 'iter_{}.pth')
    folder = cfg.work_dir
    out_dir = hook.get('out_dir')
    if out_dir and '://' not in str(out_dir):
        folder = osp.join(out_dir, osp.basename(cfg.work_dir.rstrip(osp.sep)))
    return folder, template


def numbered_checkpoints(folder: str, template: str) -> List[Tuple[int, str]]:
    """``(step, path)`` of the checkpoints named by ``template`` in
    ``folder``, newest first."""
    if template.count('{}') != 1:
        raise ValueError('filename_tmpl of the checkpoint hook must hold '
                         f'one "{{}}", got {template!r}')
    prefix, suffix = template.split('{}')
    pattern = re.compile(
        re.escape(prefix) + r'(\d+)' + re.escape(suffix) + '$')
    found = []
    if osp.isdir(folder):
        for name in os.listdir(folder):
            match = pattern.match(name)
            if match and osp.isfile(osp.join(folder, name)):
                found.append((int(match.group(1)), osp.join(folder, name)))
    return sorted(found, reverse=True)


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``last_checkpoint`` names, or None (no or empty file)."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        target = f.read().strip()
    return target or None


def _unreadable_reason(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None if it can. The tensors
    are mapped, not read: every rank checks, and the Runner reads the
    chosen file anyway."""
    try:
        checkpoint = load_checkpoint_file(path, map_location='cpu', mmap=True)
    except (FileNotFoundError, CorruptCheckpointError,
            UnsafeCheckpointError) as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - any other load failure
        return f'{type(error).__name__}: {error}'
    if not (isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('meta'), dict) and 'state_dict' in checkpoint):
        return (f'{path!r} is not a training checkpoint (it has no meta and '
                'state_dict)')
    return None


def find_resume_checkpoint(work_dir: str, folder: str,
                           template: str) -> Optional[str]:
    """The newest checkpoint of the run in ``work_dir`` that loads.

    Tries the file ``last_checkpoint`` names, then the numbered
    checkpoints in ``folder`` from the newest down; every file skipped is
    named in a warning with the reason.

    Returns:
        str | None: The checkpoint, or None when the run has none.
    """
    candidates = []
    pointed = read_last_checkpoint(work_dir)
    if pointed is not None:
        candidates.append(pointed)
    for _, path in numbered_checkpoints(folder, template):
        if all(osp.abspath(path) != osp.abspath(c) for c in candidates):
            candidates.append(path)
    for path in candidates:
        reason = _unreadable_reason(path)
        if reason is None:
            return path
        print_log(
            f'--resume: skipping checkpoint {path!r}, which cannot be '
            f'resumed from: {reason}',
            logger='current',
            level=logging.WARNING)
    return None


def run_files(work_dir: str, folder: str, template: str) -> List[str]:
    """The files of a run in the work directory: ``last_checkpoint``, its
    numbered and best checkpoints."""
    files = []
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if osp.isfile(pointer):
        files.append(pointer)
    files.extend(path for _, path in numbered_checkpoints(folder, template))
    if osp.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = osp.join(folder, name)
            if (name.startswith('best_') and name.endswith('.pth')
                    and osp.isfile(path)):
                files.append(path)
            elif is_temporary_file(name):
                files.append(path)
    return files


def check_work_dir_unused(work_dir: str, folder: str, template: str) -> None:
    """Raise :class:`WorkDirInUseError` when the work directory holds the
    checkpoints of a run."""
    files = run_files(work_dir, folder, template)
    if files:
        names = ', '.join(osp.basename(path) for path in files[:6])
        more = f' and {len(files) - 6} more' if len(files) > 6 else ''
        raise WorkDirInUseError(
            f'work dir {work_dir!r} already holds the checkpoints of a run '
            f'({names}{more}). A new run there would overwrite some of them '
            'and mix two runs. Pass --resume to continue that run, choose '
            'another --work-dir, or pass --new-run to start a new run there '
            f'(the old files are moved to {PREVIOUS_RUNS}/ in the work dir).')


def archive_previous_run(work_dir: str,
                         folder: str,
                         template: str,
                         stamp: Optional[str] = None) -> Optional[str]:
    """Move the files of the run in ``work_dir`` into
    ``work_dir/previous_runs/<time>/``.

    Returns:
        str | None: The folder they went to, or None if there were none.
    """
    files = run_files(work_dir, folder, template)
    if not files:
        return None
    stamp = stamp or time.strftime('%Y%m%d_%H%M%S')
    target = osp.join(work_dir, PREVIOUS_RUNS, stamp)
    suffix = 1
    while osp.exists(target):
        target = osp.join(work_dir, PREVIOUS_RUNS, f'{stamp}_{suffix}')
        suffix += 1
    os.makedirs(target)
    for path in files:
        shutil.move(path, osp.join(target, osp.basename(path)))
    return target
