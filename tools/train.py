"""Train a model from a config with mmengine's Runner.

Runs on one CPU or GPU (``--launcher none``), or distributed with torchrun
(``--launcher pytorch``), slurm or MPI; without a GPU a distributed run uses
the gloo backend on the CPU. Logs, checkpoints and the dumped config land in
the work directory.

Checkpoints are loaded safely (weights-only unpickling plus the few types
mmengine checkpoints hold). To resume or initialise from an older checkpoint
that holds other pickled objects and that you trust, pass
``--trust-checkpoint`` or set ``MMSPLITMIX_TRUSTED_CHECKPOINTS=1``.

Checkpoints are saved atomically (a kill or a full disk never leaves a
truncated one); ``--resume`` falls back to the newest readable checkpoint;
a resumed run continues exactly as an uninterrupted one would (data order
and augmentation included); a work directory holding another run's
checkpoints is refused unless ``--resume`` or ``--new-run`` is given.
"""
import argparse
import logging
import os.path as osp
from copy import deepcopy

from tool_options import (add_shared_options, apply_shared_options,
                          one_line_errors, safe_loading_epilog)


def build_parser():
    parser = argparse.ArgumentParser(
        description='Train a model (mmsplitmix / mmpretrain config).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=safe_loading_epilog('Checkpoints (--resume, load_from) are'))
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='the directory for logs and checkpoints (default: '
        'work_dir of the config, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, from the '
        'newest checkpoint of the work directory that loads (unreadable ones '
        'are skipped with a warning; with none, training starts from '
        'scratch)')
    parser.add_argument(
        '--new-run',
        action='store_true',
        help='start a new run in a work directory that holds the '
        'checkpoints of an earlier run (without it that is refused); the '
        'earlier run\'s checkpoints are moved to previous_runs/<time>/ in '
        'the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision training on a GPU (mmengine\'s '
        'AmpOptimWrapper, dynamic loss scaling), as the paper trained; '
        'without a GPU it is an error')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='run the model in the channels-last memory format (the '
        'fastest layout for these convolutions on CPU and GPU; adds '
        'ChannelsLastHook)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='compile the backbone with torch.compile, its forward and '
        'backward passes (adds CompiledBackboneHook; mmengine\'s '
        '`compile=True` in a config compiles the whole training step '
        'instead, mmengine\'s logging and optimizer step included); the '
        'first iterations are slow while it compiles')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size over '
        'auto_scale_lr.base_batch_size of the config')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in all dataloaders: their workers '
        'then restart each epoch (by default they persist; a resumed run '
        'augments exactly as an uninterrupted one either way)')
    add_shared_options(
        parser, 'train_cfg.max_epochs=10 "optim_wrapper.optimizer.lr=0.01"')
    return parser


def _is_local_path(path):
    return '://' not in path


def validate_args(args):
    """Check the paths given on the command line before anything heavy
    runs.

    Raises:
        FileNotFoundError: The config or the checkpoint to resume from does
            not exist.
        NotADirectoryError: The work directory exists but is a file.
        ValueError: ``--new-run`` together with ``--resume``.
    """
    from mmsplitmix.utils.tool_args import output_dir_arg_error

    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config!r}')
    if (args.resume not in (None, 'auto') and _is_local_path(args.resume)
            and not osp.isfile(osp.expanduser(args.resume))):
        raise FileNotFoundError(
            f'checkpoint to resume from not found: {args.resume!r}')
    problem = output_dir_arg_error(args.work_dir)
    if problem:
        raise NotADirectoryError(problem)
    if args.new_run and args.resume is not None:
        raise ValueError('--new-run starts a new run and --resume continues '
                         'one: give only one of them')


def set_dataloader_defaults(cfg, field, args, cuda_available):
    """pin_memory when a GPU can use it, persistent workers when there are
    workers (ReproducibleDataHook seeds each training sample, so that a
    resumed run reproduces the augmentation with them), and batches stacked
    in the workers; unless the config or the flags say otherwise."""
    if cfg.get(field) is None:
        return
    loader = deepcopy(cfg[field])
    loader.setdefault('pin_memory', cuda_available)
    loader.setdefault('persistent_workers', loader.get('num_workers', 0) > 0)
    loader.setdefault('collate_fn', dict(type='default_collate'))
    if args.no_pin_memory:
        loader['pin_memory'] = False
    if args.no_persistent_workers or loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    cfg[field] = loader


def merge_args(cfg, args):
    """Merge the command-line arguments into the config.

    Raises:
        ConfigError: ``--amp`` on a machine without a GPU, a bad
            ``--cfg-options`` pair, ``--auto-scale-lr`` with a config
            that has no ``auto_scale_lr.base_batch_size``, or
            ``--compile`` with a config that sets mmengine's ``compile``.
    """
    import torch

    from mmsplitmix.utils import (add_custom_hook, merge_cfg_options,
                                  set_work_dir)
    from mmsplitmix.utils.tool_args import ConfigError, check_amp_device

    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

    if args.channels_last:
        add_custom_hook(cfg, 'ChannelsLastHook')
    if args.compile:
        add_custom_hook(cfg, 'CompiledBackboneHook')

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.amp:
        check_amp_device('--amp',
                         'drop --amp to train in full precision (fp32)')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        scale_cfg = cfg.get('auto_scale_lr')
        if not scale_cfg or 'base_batch_size' not in scale_cfg:
            raise ConfigError(
                '--auto-scale-lr needs `auto_scale_lr = dict('
                f'base_batch_size=...)` in the config {args.config!r}')
        cfg.auto_scale_lr.enable = True

    cuda_available = torch.cuda.is_available()
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_dataloader_defaults(cfg, field, args, cuda_available)

    merge_cfg_options(cfg, args.cfg_options)
    if args.compile and cfg.get('compile'):
        raise ConfigError(
            f'--compile compiles the backbone, and the config also sets '
            f'compile={cfg.compile!r}, mmengine\'s compiling of the whole '
            'training step: keep one of the two (drop --compile, or set '
            '`--cfg-options compile=None`)')
    return cfg


def prepare_work_dir(cfg, args, config_load_from):
    """Decide where training starts, before anything is written.

    * Resuming without a named checkpoint (``--resume``, or ``resume=True``
      in the config): the newest checkpoint of the work directory that
      loads, with a warning for every one skipped; none: a warning that
      training starts from scratch (from the config's ``load_from``, if
      any).
    * A new run: refused when the work directory holds another run's
      checkpoints, unless ``--new-run`` (then they are moved aside).

    Raises:
        WorkDirInUseError: A new run in a used work directory.
    """
    from mmengine.logging import print_log

    from mmsplitmix.utils import (archive_previous_run, check_work_dir_unused,
                                  checkpoint_location, find_resume_checkpoint)
    from mmsplitmix.utils.tool_args import launcher_rank

    folder, template = checkpoint_location(cfg)
    if cfg.get('resume', False):
        if cfg.get('load_from') is not None:
            return  # a named checkpoint
        found = find_resume_checkpoint(cfg.work_dir, folder, template)
        if found is None:
            cfg.resume = False
            cfg.load_from = config_load_from
            start = (f'from load_from {config_load_from!r}'
                     if config_load_from else 'from scratch')
            print_log(
                f'--resume: no checkpoint to resume from in work dir '
                f'{cfg.work_dir!r}: training starts {start}.',
                logger='current',
                level=logging.WARNING)
        else:
            cfg.load_from = found
            print_log(f'--resume: resuming from {found!r}.', logger='current')
        return
    if not args.new_run:
        check_work_dir_unused(cfg.work_dir, folder, template)
    elif launcher_rank(cfg.launcher) == 0:
        moved_to = archive_previous_run(cfg.work_dir, folder, template)
        if moved_to:
            print_log(
                f'--new-run: the earlier run\'s checkpoints were moved to '
                f'{moved_to!r}.',
                logger='current',
                level=logging.WARNING)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        validate_args(args)
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        parser.error(str(error))
    apply_shared_options(args)

    # Registers SplitMixer and the runtime parts.
    import mmsplitmix  # noqa: F401
    from mmsplitmix.utils import (build_runner, check_train_settings,
                                  load_config, safe_checkpoint_loading,
                                  shutdown_distributed)
    from mmsplitmix.utils.tool_args import ConfigError
    from mmsplitmix.utils.work_dir import WorkDirInUseError

    try:
        cfg = load_config(args.config)
        config_load_from = cfg.get('load_from')
        cfg = merge_args(cfg, args)
        check_train_settings(cfg)
        prepare_work_dir(cfg, args, config_load_from)
    except (ConfigError, WorkDirInUseError) as error:
        parser.error(str(error))
    with one_line_errors(parser, args.cfg_options):
        runner = build_runner(cfg)
        # Resume and load_from read checkpoints safely.
        with safe_checkpoint_loading():
            runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
