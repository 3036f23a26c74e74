"""Test (evaluate) a checkpoint on the test set of a config and print the
metrics.

Runs on one CPU or GPU (``--launcher none``), or distributed with torchrun
(``--launcher pytorch``), slurm or MPI; without a GPU a distributed run uses
the gloo backend on the CPU. ``--out FILE.pkl`` dumps the predictions (or,
with ``--out-item metrics``, the metrics as .json/.yaml/.pkl); ``--tta``
tests with test-time augmentation; ``--show-dir DIR`` saves the test images
with their predictions drawn, each under its path in the dataset.

The checkpoint is loaded safely (weights-only unpickling plus the few types
mmengine checkpoints hold). To load an older checkpoint that holds other
pickled objects and that you trust, pass ``--trust-checkpoint`` or set
``MMSPLITMIX_TRUSTED_CHECKPOINTS=1``.

A checkpoint whose weights do not fit the model of the config, or a test
split whose classes differ from those the checkpoint was trained on, is
refused with the list of differences.
"""
import argparse
import os.path as osp
from copy import deepcopy

from tool_options import (add_shared_options, apply_shared_options,
                          one_line_errors, safe_loading_epilog)

PRED_SUFFIXES = ('.pkl', '.pickle')
METRIC_SUFFIXES = ('.json', '.yaml', '.yml', '.pkl', '.pickle')


def build_parser():
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a checkpoint and print the metrics.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=safe_loading_epilog('The checkpoint is'))
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory for the logs and metrics (default: work_dir of '
        'the config, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='dump the predictions (.pkl/.pickle) or, with --out-item '
        'metrics, the metrics (.json/.yaml/.yml/.pkl/.pickle) to this file')
    parser.add_argument(
        '--out-item',
        choices=['pred', 'metrics'],
        help='what --out holds (default: pred)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision test on a GPU (test_cfg.fp16); without a '
        'GPU it is an error')
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='evaluate the model in its deploy form (SplitMixer: '
        'channels-last, and on CPU batches run in cache-sized slices; the '
        'same function, faster); models without one are refused')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='run the model in the channels-last memory format (any model)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='compile the backbone with torch.compile; the first batches '
        'are slow while it compiles')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the tta_model and tta_pipeline of the '
        'config, else the average of the scores of each image and its '
        'horizontal flip (mmpretrain\'s AverageClsScoreTTA)')
    parser.add_argument(
        '--show-dir',
        help='draw the predictions on the test images and save them in this '
        'directory, each under its image\'s path in the dataset, as '
        '<path>_0.png (e.g. cat/001.jpg_0.png; CIFAR: <index>_0.png)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='show the predictions in a window (needs a display)')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='with --show/--show-dir, draw the test images whose dataset '
        'index is a multiple of INTERVAL (default: 1, every image)')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='with --show, seconds each image is shown (default: 2)')
    add_shared_options(parser, 'test_dataloader.batch_size=64')
    return parser


def validate_args(args):
    """Check the command-line paths before anything heavy runs.

    Raises:
        FileNotFoundError: The config, the checkpoint or the folder of
            ``--out`` does not exist.
        ValueError: ``--out`` has a suffix that cannot hold what is dumped,
            names a folder or lies in a folder that is not writable, or
            ``--out-item`` is given without ``--out``, or ``--work-dir`` or
            ``--show-dir`` is a file, or ``--tta`` goes with ``--show`` or
            ``--show-dir``, or ``--interval`` or ``--wait-time`` is out of
            range.
    """
    from mmsplitmix.utils.tool_args import (check_output_file,
                                            output_dir_arg_error)

    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config!r}')
    if ('://' not in args.checkpoint
            and not osp.isfile(osp.expanduser(args.checkpoint))):
        raise FileNotFoundError(
            f'checkpoint file not found: {args.checkpoint!r}')
    problem = output_dir_arg_error(args.work_dir)
    if problem:
        raise ValueError(problem)
    if args.out_item is not None and args.out is None:
        raise ValueError('--out-item needs --out FILE')
    problem = output_dir_arg_error(args.show_dir, '--show-dir')
    if problem:
        raise ValueError(problem)
    if args.tta and (args.show or args.show_dir is not None):
        raise ValueError(
            '--tta cannot go with --show or --show-dir: mmpretrain\'s '
            'VisualizationHook draws one image per test sample, and with '
            '--tta a sample is several augmented views; run them separately')
    if args.interval < 1:
        raise ValueError(
            f'--interval must be a positive integer, got {args.interval}')
    if args.wait_time < 0:
        raise ValueError(
            f'--wait-time must be 0 or more seconds, got {args.wait_time}')
    if args.out is not None:
        item = args.out_item or 'pred'
        suffixes = PRED_SUFFIXES if item == 'pred' else METRIC_SUFFIXES
        if not args.out.lower().endswith(suffixes):
            raise ValueError(
                f'--out {args.out!r}: the {item} file must end with one of '
                f'{suffixes}')
        check_output_file('--out', args.out)


def flip_tta_pipeline(test_pipeline, config_path):
    """The test pipeline with its packing step replaced by mmpretrain's
    ``TestTimeAug`` over the image and its horizontal flip, packing each.

    Raises:
        ValueError: The pipeline does not end with ``PackInputs``.
    """
    last = test_pipeline[-1] if test_pipeline else None
    last_type = last.get('type') if isinstance(last, dict) else last
    if last_type not in ('PackInputs', 'mmpretrain.PackInputs'):
        raise ValueError(
            f'--tta: the test pipeline of config {config_path!r} ends with '
            f'{last_type!r}, not PackInputs, so the flips cannot be put '
            'before it; give the config a tta_pipeline')
    flips = [
        dict(type='RandomFlip', prob=1.),
        dict(type='RandomFlip', prob=0.)
    ]
    return list(test_pipeline[:-1]) + [
        dict(type='TestTimeAug', transforms=[flips, [deepcopy(last)]])
    ]


def use_test_time_augmentation(cfg, config_path):
    """Test the model through the config's ``tta_model`` and
    ``tta_pipeline``; without them, through mmpretrain's
    ``AverageClsScoreTTA`` over each image and its horizontal flip."""
    from mmengine.config import ConfigDict

    tta_model = deepcopy(
        cfg.get('tta_model') or dict(type='AverageClsScoreTTA'))
    tta_pipeline = cfg.get('tta_pipeline')
    if tta_pipeline is None:
        tta_pipeline = flip_tta_pipeline(
            cfg.test_dataloader.dataset.get('pipeline') or [], config_path)
    cfg.model = ConfigDict(**tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = tta_pipeline


def show_predictions(cfg, args):
    """Switch on the config's ``VisualizationHook`` for ``--show`` or
    ``--show-dir``, as our ``DatasetPathVisualizationHook``: each drawing
    is named after its image's path in the dataset, so that images of the
    same file name in different folders do not overwrite each other.

    Raises:
        ValueError: The config has no ``default_hooks.visualization``.
    """
    from mmsplitmix.utils.runner_setup import hook_type_name, registry_scope

    hook = (cfg.get('default_hooks') or {}).get('visualization')
    if hook is None:
        raise ValueError(
            f'--show and --show-dir need a visualization hook in config '
            f'{args.config!r}: add default_hooks = dict(visualization='
            'dict(type="VisualizationHook"))')
    if hook_type_name(hook) == 'VisualizationHook':
        # the same drawings, named after their paths in the dataset
        hook.type = registry_scope(cfg) + 'DatasetPathVisualizationHook'
    hook.update(
        enable=True,
        show=args.show,
        wait_time=args.wait_time,
        out_dir=args.show_dir,
        interval=args.interval)


def merge_args(cfg, args):
    """Merge the command-line arguments into the config.

    Raises:
        ValueError: The config cannot test (no ``test_dataloader``,
            ``test_cfg`` or ``test_evaluator``), has no visualization hook
            for ``--show``/``--show-dir``, or no pipeline ending with
            ``PackInputs`` to add the flips of ``--tta`` to.
        ConfigError: ``--amp`` on a machine without a GPU, or a bad
            ``--cfg-options`` pair.
    """
    import torch

    from mmsplitmix.utils import (add_custom_hook, merge_cfg_options,
                                  set_work_dir)
    from mmsplitmix.utils.tool_args import check_amp_device

    for part in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        if cfg.get(part) is None:
            raise ValueError(
                f'config {args.config!r} has no {part}; testing needs '
                'test_dataloader, test_cfg and test_evaluator')

    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.channels_last:
        add_custom_hook(cfg, 'ChannelsLastHook')
    if args.deploy or args.compile:
        # the flags switch on, over a FastInferenceHook the config lists
        hook = add_custom_hook(
            cfg, 'FastInferenceHook', deploy=False, compile=False)
        if args.deploy:
            hook['deploy'] = True
        if args.compile and not hook.get('compile'):
            hook['compile'] = True

    if args.amp:
        check_amp_device('--amp',
                         'drop --amp to test in full precision (fp32)')
        cfg.test_cfg.fp16 = True

    if args.show or args.show_dir is not None:
        show_predictions(cfg, args)

    loader = deepcopy(cfg.test_dataloader)
    loader.setdefault('pin_memory', torch.cuda.is_available())
    loader.setdefault('collate_fn', dict(type='default_collate'))
    if args.no_pin_memory:
        loader['pin_memory'] = False
    if loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    cfg.test_dataloader = loader

    merge_cfg_options(cfg, args.cfg_options)
    if args.tta:
        use_test_time_augmentation(cfg, args.config)
    if not cfg.get('test_evaluator'):
        raise ValueError(
            f'test_evaluator of config {args.config!r} (with --cfg-options) '
            'is empty: the test would compute no metrics')
    return cfg


def format_metrics(metrics):
    """One ``name: value`` line per metric."""
    lines = []
    for name, value in metrics.items():
        if isinstance(value, float):
            value = f'{value:.4f}'
        lines.append(f'{name}: {value}')
    return '\n'.join(lines)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        validate_args(args)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    apply_shared_options(args)

    # Registers SplitMixer and the runtime parts.
    import mmengine
    from mmengine.dist import get_rank
    from mmengine.evaluator import DumpResults

    import mmsplitmix  # noqa: F401
    from mmsplitmix.utils import (build_runner, load_config,
                                  safe_checkpoint_loading,
                                  shutdown_distributed)

    try:
        cfg = merge_args(load_config(args.config), args)
    except ValueError as error:  # ConfigError included
        parser.error(str(error))
    with one_line_errors(parser, args.cfg_options):
        # The checkpoint must fit the model exactly.
        runner = build_runner(cfg, strict_load_from=True)
        if args.out and args.out_item in ('pred', None):
            runner.test_evaluator.metrics.append(
                DumpResults(out_file_path=args.out))
        with safe_checkpoint_loading():  # the checkpoint is read safely
            metrics = runner.test()

    if get_rank() == 0:
        print('Test metrics:\n' + format_metrics(metrics), flush=True)
        if args.out and args.out_item == 'metrics':
            mmengine.dump(metrics, args.out)
    shutdown_distributed()


if __name__ == '__main__':
    main()
