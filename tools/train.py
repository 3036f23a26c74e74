"""Train a model from a config, as mmpretrain's tools/train.py does.

On one CPU or GPU, or distributed: torchrun (``--launcher pytorch``, also
on CPUs with gloo), slurm or MPI. The config's hooks give the run its
guarantees (docs/guarantees.md); this tool adds ``--channels-last``,
``--compile`` and ``--new-run`` to mmpretrain's options.
"""
import argparse
import logging
import os
import os.path as osp
import shutil
import time
from copy import deepcopy

from runner_setup import (add_launch_arguments, build_runner,
                          import_mmsplitmix, load_config, merge_cfg_options,
                          one_line_errors, parse, set_launcher_and_work_dir)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without one, from the '
        'newest readable checkpoint of the work dir')
    parser.add_argument(
        '--new-run',
        action='store_true',
        help='start a new run in a work dir that holds another run\'s '
        'checkpoints, moving them to previous_runs/<time>/ there')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision training (AmpOptimWrapper; needs a GPU)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='run the model in the channels-last memory format')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='compile the backbone with torch.compile (forward and backward)')
    parser.add_argument(
        '--no-validate', action='store_true', help='do not validate')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size over '
        'auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--no-pin-memory', action='store_true', help='disable pin_memory')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='whether to disable the persistent_workers option in '
        'dataloaders')
    add_launch_arguments(parser)
    args = parse(parser, argv)
    if not osp.isfile(args.config):
        parser.error(f'config file not found: {args.config!r}')
    if args.work_dir and osp.exists(args.work_dir) and \
            not osp.isdir(args.work_dir):
        parser.error(f'--work-dir {args.work_dir!r} is a file, not a folder')
    if args.resume not in (None, 'auto') and '://' not in args.resume and \
            not osp.isfile(args.resume):
        parser.error(f'--resume: checkpoint not found: {args.resume!r}')
    if args.new_run and args.resume:
        parser.error('--new-run starts a new run, --resume continues one: '
                     'give one of them')
    return parser, args


def merge_args(cfg, args):
    """mmpretrain's merge of the options into the config, and ours."""
    from mmengine.device import get_device

    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    set_launcher_and_work_dir(cfg, args)
    if args.amp:
        if get_device() == 'cpu':
            raise ValueError('--amp: mixed precision needs a GPU and none was '
                             'found; train in full precision without --amp')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr = dict('
                             'base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    custom_hooks = list(cfg.get('custom_hooks') or [])
    if args.channels_last:
        custom_hooks.append(dict(type='mmpretrain.ChannelsLastHook'))
    if args.compile:
        custom_hooks.append(dict(type='mmpretrain.CompiledBackboneHook'))
    cfg.custom_hooks = custom_hooks
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field) is None:
            continue
        loader = deepcopy(cfg[field])
        workers = loader.get('num_workers', 0) > 0
        loader.setdefault('pin_memory', get_device() != 'cpu')
        loader.setdefault('persistent_workers', workers)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers or not workers:
            loader.persistent_workers = False
        cfg[field] = loader
    merge_cfg_options(cfg, args)
    if args.compile and cfg.get('compile'):
        raise ValueError('--compile compiles the backbone, and the config '
                         f'sets compile={cfg.compile!r} (mmengine compiles '
                         'the whole train_step): keep one of them, e.g. with '
                         '--cfg-options compile=None')
    train_cfg = cfg.get('train_cfg') or {}
    length = 'max_epochs' if train_cfg.get('by_epoch', True) else 'max_iters'
    value = train_cfg.get(length)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f'train_cfg.{length} must be a positive int, got '
                         f'{value!r}')
    return cfg


def move_previous_run(cfg) -> None:
    """--new-run: move the work dir's checkpoints to previous_runs/."""
    from mmengine.logging import print_log
    from mmpretrain.registry import HOOKS

    from mmsplitmix.engine.hooks.work_dir_hook import (checkpoint_location,
                                                       run_files)

    hook_cfg = (cfg.get('default_hooks') or {}).get('checkpoint')
    location = hook_cfg and checkpoint_location(
        osp.abspath(cfg.work_dir), HOOKS.build(deepcopy(hook_cfg)))
    rank = os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))
    files = run_files(osp.abspath(cfg.work_dir), *location) if location \
        else []
    if not files or rank != '0':
        return
    target = osp.join(cfg.work_dir, 'previous_runs',
                      time.strftime('%Y%m%d_%H%M%S'))
    os.makedirs(target)
    for path in files:
        shutil.move(path, target)
    print_log(
        f'--new-run: the earlier run\'s checkpoints were moved to '
        f'{target!r}.',
        logger='current',
        level=logging.WARNING)


def main(argv=None):
    parser, args = parse_args(argv)
    import_mmsplitmix()
    cfg = load_config(args.config)
    try:
        cfg = merge_args(cfg, args)
    except ValueError as error:
        parser.error(str(error))
    if args.new_run:
        move_previous_run(cfg)
    with one_line_errors(parser.prog):
        build_runner(cfg).train()


if __name__ == '__main__':
    main()
