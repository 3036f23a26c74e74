"""Measure inference and training throughput of the models of configs.

All models are measured in one process, after warm-up, as the median of
repeated steps (see :mod:`mmsplitmix.analysis.throughput`). The table lists
parameters, FLOPs (SplitMixer paper convention), throughput in images per
second and the speed-up over the first model measured at the same input size
and batch size.

Examples::

    # the paper's set: ConvMixer-256/8 and SplitMixer I-IV at 32 and 224 px
    python tools/analysis_tools/benchmark.py --paper --device cuda --amp \\
        --out speed.json --plot speed.png

    # some configs, with the straightforward channel-mixer formulation
    python tools/analysis_tools/benchmark.py \\
        configs/splitmixer/splitmixer-i-256-8_1xb512_cifar10.py \\
        --reference --batch-size 64 --device cpu

Defaults: the input size comes from each config's test pipeline, the batch
size is 512 for inputs up to 64 x 64 pixels and 64 for larger ones, and the
device is cuda when CUDA is available, cpu otherwise. ``--amp`` (float16
autocast with gradient scaling) needs a CUDA device: it is refused on cpu
rather than silently measuring something else.
"""
import argparse
import os.path as osp
import platform
import sys
from pathlib import Path

import torch

from mmsplitmix.analysis import get_complexity
from mmsplitmix.analysis.benchmark_report import (add_speedups, format_table,
                                                  plot_throughput, write_json)
from mmsplitmix.analysis.config_inputs import (build_model_from_config,
                                               input_shape_for, load_config)
from mmsplitmix.analysis.reference_mixers import (has_reference,
                                                   to_reference_model)
from mmsplitmix.analysis.throughput import (BenchmarkCase,
                                            measure_throughput)

#: The seed's speed comparison: ConvMixer-256/8 and SplitMixer I-IV at the
#: CIFAR setting (32 px) and at the 224 px setting.
PAPER_CONFIGS = (
    'convmixer/convmixer-256-8_1xb512_cifar10.py',
    'splitmixer/splitmixer-i-256-8_1xb512_cifar10.py',
    'splitmixer/splitmixer-ii-256-8_1xb512_cifar10.py',
    'splitmixer/splitmixer-iii-256-8_1xb512_cifar10.py',
    'splitmixer/splitmixer-iv-256-8_1xb512_cifar10.py',
    'convmixer/convmixer-256-8_1xb128_food101.py',
    'splitmixer/splitmixer-i-256-8_1xb128_food101.py',
    'splitmixer/splitmixer-ii-256-8_1xb128_food101.py',
    'splitmixer/splitmixer-iii-256-8_1xb128_food101.py',
    'splitmixer/splitmixer-iv-256-8_1xb128_food101.py',
)
SMALL_INPUT_PIXELS = 64 * 64
SMALL_INPUT_BATCH = 512
LARGE_INPUT_BATCH = 64


def configs_root() -> Path:
    """The ``configs`` folder of the source tree, or of the installed
    package when the tool runs from an installation."""
    source = Path(__file__).resolve().parents[2] / 'configs'
    if source.is_dir():
        return source
    import mmsplitmix
    installed = Path(mmsplitmix.__file__).parent / '.mim' / 'configs'
    if installed.is_dir():
        return installed
    raise FileNotFoundError(
        f'cannot find the configs folder (looked in {source} and '
        f'{installed})')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Measure inference and training throughput (images/s) '
        'of the models of configs')
    parser.add_argument(
        'configs', nargs='*', help='config files, measured in this order')
    parser.add_argument(
        '--paper',
        action='store_true',
        help='measure the paper\'s set: ConvMixer-256/8 and SplitMixer I-IV '
        'at 32 px (CIFAR-10 configs) and 224 px (Food101 configs)')
    parser.add_argument(
        '--reference',
        action='store_true',
        help='after each SplitMixer of settings I-V also measure the same '
        'model with the straightforward channel mixers (slice, 1x1 conv, '
        'concatenate)')
    parser.add_argument(
        '--batch-size',
        type=int,
        help=f'images per step; defaults to {SMALL_INPUT_BATCH} for inputs up '
        f'to 64x64 px and {LARGE_INPUT_BATCH} for larger ones')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input size H [W] for all configs; defaults to the size each '
        'config\'s test pipeline produces')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        help='defaults to cuda when available, else cpu')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='float16 mixed precision (CUDA only)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='channels-last memory format for models and inputs')
    parser.add_argument(
        '--warmup', type=int, default=5, help='untimed steps per model')
    parser.add_argument(
        '--repeats',
        type=int,
        default=20,
        help='timed steps per model; the median is reported')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--plot', help='save a chart of throughput against FLOPs (PNG)')
    return parser.parse_args(argv)


def resolve_configs(args) -> list:
    if args.paper and args.configs:
        raise ValueError('give either config files or --paper, not both')
    if args.paper:
        root = configs_root()
        paths = [str(root / name) for name in PAPER_CONFIGS]
    elif args.configs:
        paths = list(args.configs)
    else:
        raise ValueError('no configs given: pass config files or --paper')
    missing = [path for path in paths if not osp.isfile(path)]
    if missing:
        raise FileNotFoundError(f'config files not found: {missing}')
    return paths


def check_args(args) -> str:
    """Validate the options early; returns the device."""
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ValueError('--device cuda was given, but CUDA is not available '
                         'on this machine; use --device cpu')
    if args.amp and device != 'cuda':
        raise ValueError('--amp (float16 mixed precision) needs --device '
                         'cuda; it is not supported on cpu')
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(
            f'--batch-size must be a positive int, got {args.batch_size}')
    if args.warmup < 0:
        raise ValueError(f'--warmup must be >= 0, got {args.warmup}')
    if args.repeats < 1:
        raise ValueError(f'--repeats must be >= 1, got {args.repeats}')
    for option in ('out', 'plot'):
        path = getattr(args, option)
        if path and not osp.isdir(osp.dirname(osp.abspath(path))):
            raise FileNotFoundError(
                f'--{option}: folder of {path} does not exist')
    return device


def default_batch_size(input_shape) -> int:
    if input_shape[1] * input_shape[2] <= SMALL_INPUT_PIXELS:
        return SMALL_INPUT_BATCH
    return LARGE_INPUT_BATCH


def build_cases(paths, args):
    """Models to measure and what the table reports about them."""
    loaded = []
    for path in paths:
        cfg = load_config(path)
        loaded.append((path, cfg, input_shape_for(cfg, args.shape)))
    # 'splitmixer-i-256-8' for 'splitmixer-i-256-8_1xb512_cifar10.py'; the
    # whole stem where two configs of one input size would share a name.
    keys = [(Path(path).stem.split('_')[0], tuple(shape))
            for path, _, shape in loaded]
    cases, infos = [], []
    for (path, cfg, input_shape), key in zip(loaded, keys):
        name = key[0] if keys.count(key) == 1 else Path(path).stem
        batch_size = args.batch_size or default_batch_size(input_shape)
        model = build_model_from_config(cfg)
        variants = [(name, model, False)]
        if args.reference and has_reference(model):
            variants.append(
                (f'{name} (reference)', to_reference_model(model), True))
        for variant_name, variant, reference in variants:
            complexity = get_complexity(variant, input_shape)
            cases.append(
                BenchmarkCase(variant_name, variant, input_shape, batch_size))
            infos.append(
                dict(
                    name=variant_name,
                    config=path,
                    reference=reference,
                    input_shape=list(input_shape),
                    batch_size=batch_size,
                    params=complexity['params'],
                    flops=complexity['flops']))
    return cases, infos


def device_name(device: str) -> str:
    if device == 'cuda':
        return torch.cuda.get_device_name()
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as file:
            for line in file:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{name} ({torch.get_num_threads()} threads)'


def main(argv=None):
    args = parse_args(argv)
    paths = resolve_configs(args)
    device = check_args(args)
    cases, infos = build_cases(paths, args)
    measured = measure_throughput(
        cases,
        device=device,
        amp=args.amp,
        channels_last=args.channels_last,
        warmup=args.warmup,
        repeats=args.repeats)
    results = add_speedups(
        [dict(info, **speed) for info, speed in zip(infos, measured)])
    settings = dict(
        device=device,
        device_name=device_name(device),
        amp=args.amp,
        channels_last=args.channels_last,
        warmup=args.warmup,
        repeats=args.repeats,
        torch=torch.__version__)
    precision = 'AMP (float16)' if args.amp else 'fp32'
    title = (f"{settings['device_name']}, {precision}"
             f"{', channels-last' if args.channels_last else ''}")
    print(f'Device: {title}; median of {args.repeats} steps after '
          f'{args.warmup} warm-up steps')
    print(format_table(results))
    if args.out:
        write_json(args.out, results, settings)
        print(f'results written to {args.out}')
    if args.plot:
        plot_throughput(args.plot, results, title)
        print(f'chart written to {args.plot}')
    return results


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
