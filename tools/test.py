"""Test (evaluate) a checkpoint, as mmpretrain's tools/test.py does.

On one CPU or GPU, or distributed (torchrun, also on CPUs with gloo; slurm;
MPI). The config's hooks load the checkpoint weights-only and refuse one
that does not fit the model or the test split (docs/guarantees.md). Adds
``--deploy``, ``--channels-last`` and ``--compile`` to mmpretrain's options.
"""
import argparse
import os.path as osp
from copy import deepcopy

from runner_setup import (add_launch_arguments, build_runner,
                          import_mmsplitmix, load_config, merge_cfg_options,
                          one_line_errors, parse, set_launcher_and_work_dir)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and eval) a model checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save the file with metrics')
    parser.add_argument(
        '--out', help='the file to output the predictions (.pkl) to')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='to output whether metrics (.json, .yaml, .pkl) or predictions '
        '(.pkl); default: pred')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (needs a GPU)')
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='test the model in its deploy form (switch_to_deploy())')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='run the model in the channels-last memory format')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='compile the backbone with torch.compile')
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved, each '
        'under its image\'s path in the dataset (cat/001.jpg_0.png)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize the samples whose dataset index is a multiple of it')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window (seconds)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the config\'s tta_model and '
        'tta_pipeline, else the average over each image and its flip')
    add_launch_arguments(parser)
    args = parse(parser, argv)
    problems = [
        (not osp.isfile(args.config), f'config not found: {args.config!r}'),
        ('://' not in args.checkpoint and not osp.isfile(args.checkpoint),
         f'checkpoint not found: {args.checkpoint!r}'),
        (args.out_item and not args.out, '--out-item needs --out FILE'),
        (args.out and not osp.isdir(osp.dirname(osp.abspath(args.out or ''))),
         f'--out {args.out!r}: its folder does not exist'),
        (args.out and (args.out_item or 'pred') == 'pred'
         and not str(args.out).endswith(('.pkl', '.pickle')),
         f'--out {args.out!r}: predictions are dumped to a .pkl file'),
        (args.tta and (args.show or args.show_dir),
         '--tta cannot go with --show or --show-dir: a sample is then '
         'several augmented views'),
        (args.interval < 1, f'--interval must be >= 1, got {args.interval}'),
    ]
    for failed, problem in problems:
        if failed:
            parser.error(problem)
    return parser, args


def merge_args(cfg, args):
    """mmpretrain's merge of the options into the config, and ours."""
    from mmengine.config import ConfigDict
    from mmengine.device import get_device

    set_launcher_and_work_dir(cfg, args)
    cfg.load_from, cfg.resume = args.checkpoint, False
    if args.amp:
        if get_device() == 'cpu':
            raise ValueError('--amp: mixed precision needs a GPU and none was '
                             'found; test in full precision without --amp')
        cfg.test_cfg.fp16 = True
    custom_hooks = list(cfg.get('custom_hooks') or [])
    if args.channels_last:
        custom_hooks.append(dict(type='mmpretrain.ChannelsLastHook'))
    if args.deploy or args.compile:
        custom_hooks.append(
            dict(
                type='mmpretrain.FastInferenceHook',
                deploy=args.deploy,
                compile=args.compile))
    cfg.custom_hooks = custom_hooks
    if args.show or args.show_dir is not None:
        hook = (cfg.get('default_hooks') or {}).get('visualization')
        if hook is None:
            raise ValueError('--show and --show-dir need default_hooks.'
                             'visualization=dict(type="VisualizationHook")')
        if hook.type in ('VisualizationHook', 'mmpretrain.VisualizationHook'):
            # named after each image's path in the dataset
            hook.type = 'mmpretrain.DatasetPathVisualizationHook'
        hook.update(
            enable=True,
            show=args.show,
            wait_time=args.wait_time,
            out_dir=args.show_dir,
            interval=args.interval)
    if args.tta:
        cfg.setdefault('tta_model', dict(type='mmpretrain.AverageClsScoreTTA'))
        if 'tta_pipeline' not in cfg:
            pipeline = deepcopy(cfg.test_dataloader.dataset.pipeline)
            flips = [dict(type='RandomFlip', prob=p) for p in (1., 0.)]
            pipeline[-1] = dict(
                type='TestTimeAug', transforms=[flips, [pipeline[-1]]])
            cfg.tta_pipeline = pipeline
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    loader = deepcopy(cfg.test_dataloader)
    loader.setdefault('pin_memory', get_device() != 'cpu')
    loader.setdefault('collate_fn', dict(type='default_collate'))
    if args.no_pin_memory:
        loader.pin_memory = False
    cfg.test_dataloader = loader
    merge_cfg_options(cfg, args)
    return cfg


def main(argv=None):
    parser, args = parse_args(argv)
    import_mmsplitmix()
    import mmengine
    from mmengine.evaluator import DumpResults
    cfg = load_config(args.config)
    try:
        cfg = merge_args(cfg, args)
    except ValueError as error:
        parser.error(str(error))
    with one_line_errors(parser.prog):
        runner = build_runner(cfg)
        if args.out and args.out_item in ('pred', None):
            runner.test_evaluator.metrics.append(
                DumpResults(out_file_path=args.out))
        metrics = runner.test()
        if args.out and args.out_item == 'metrics' and runner.rank == 0:
            mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
