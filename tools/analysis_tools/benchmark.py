"""Measure inference and training throughput of models in every mode they
can run in, and compare each model at its best.

All models are measured in one process, each mode of each model as its own
copy, after warm-up, as the median of repeated steps taken round-robin
among the models compared with one another (see ``throughput.py`` beside
this script). The modes are eager,
channels_last, compile, channels_last+compile, and deploy and
deploy+compile for models with a deploy form (mmpretrain's
``switch_to_deploy()``, as RepVGG's; inference only), and onnxruntime on
request (the model exported to ONNX, on the CPU; inference only). The first
table lists every mode with the time of its first step apart (that is where
compiling goes); the second lists each model at its best mode per kind of
step, with parameters, FLOPs (SplitMixer paper convention), the FLOP
ratio and the speed-up over its baseline at its best: the first model of
the same input size, batch size, width and depth.

Examples::

    # the paper's set: ConvMixer-256/8 and SplitMixer I-IV at 32 and 224 px
    python tools/analysis_tools/benchmark.py --paper --device cuda --amp \\
        --out speed.json --plot speed.png

    # the cost curve: SplitMixer against ConvMixer of its width and depth at
    # 32 px, 224 px and ImageNet scale, with CPU-sized batches
    python tools/analysis_tools/benchmark.py --cost-curve \\
        --modes eager channels_last --warmup 0 --repeats 3 --device cpu \\
        --out cost.json --plot cost.png

    # ConvMixer against SplitMixer-I and II on CPU, batch 64
    python tools/analysis_tools/benchmark.py \\
        configs/convmixer/convmixer-256-8_1xb512_cifar10.py \\
        configs/splitmixer/splitmixer-i-256-8_1xb512_cifar10.py \\
        configs/splitmixer/splitmixer-ii-256-8_1xb512_cifar10.py \\
        --batch-size 64 --device cpu

    # the original code's sweep of settings and segment counts at 224 px
    python tools/analysis_tools/benchmark.py --sweep 224 --modes eager \\
        --plot sweep.png

Defaults: the input size comes from each config's test pipeline, the batch
size is 512 for inputs up to 64 x 64 pixels and 64 for larger ones, and the
device is cuda when CUDA is available, cpu otherwise. ``--amp`` (float16
autocast with gradient scaling) needs a CUDA device: it is refused on cpu
rather than silently measuring something else.
"""
import argparse
import sys
from pathlib import Path

import torch
from benchmark_report import (add_speedups, best_modes, comparison_key,
                              format_modes_table, format_table,
                              plot_throughput, write_json)
from config_inputs import (build_model_from_config, config_exists,
                           input_shape_for, load_config)
from device_info import describe_device
from output_paths import check_output_file
from reference_mixers import (has_reference, to_layer_by_layer_model,
                              to_reference_model)
from throughput import (MODES, BenchmarkCase, autotunes_cudnn,
                        measure_throughput, mode_features, profile_operators,
                        supports_mode)

from mmsplitmix.analysis import get_complexity

#: The original code's speed comparison: ConvMixer-256/8 and SplitMixer I-IV
#: at the CIFAR setting (32 px) and at the 224 px setting.
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
#: The cost curve: SplitMixer against ConvMixer of the same width and depth
#: at the paper's scales, each with a batch size that a CPU measures in
#: minutes: 256/8 at 32 px (CIFAR-10 configs) and at 224 px (Food101
#: configs), and the ImageNet-scale SplitMixer-I against mmpretrain's
#: ConvMixer (same activation).
_SETTINGS_256 = ('convmixer/convmixer', 'splitmixer/splitmixer-i',
                 'splitmixer/splitmixer-ii', 'splitmixer/splitmixer-iii',
                 'splitmixer/splitmixer-iv', 'splitmixer/splitmixer-v')
_CONVMIXER_IN1K = 'mmpretrain::convmixer/convmixer-{}_10xb64_in1k.py'
_SPLITMIXER_IN1K = 'splitmixer/splitmixer-i-{}_10xb64_in1k.py'
COST_CURVE = {
    **{
        f'{model}-256-8_1xb512_cifar10.py': 64
        for model in _SETTINGS_256
    },
    **{
        f'{model}-256-8_1xb128_food101.py': 16
        for model in _SETTINGS_256
    },
    **{
        name.format(arch): 4
        for arch in ('768-32', '1024-20', '1536-20')
        for name in (_CONVMIXER_IN1K, _SPLITMIXER_IN1K)
    },
}
#: The original code's throughput sweep: ConvMixer-256/8 against SplitMixer
#: I at five ratios, II with 2 to 6 segments, III with 2, 4 and 8, IV with
#: 2 to 5, at 224 px (patch 7, kernel 7) or in the CIFAR setting (32 px,
#: patch 2, kernel 5).
SWEEP_MODELS = ([('I', dict(ratio=r), f'ratio {n}/{d}')
                 for r, n, d in ((2 / 3, 2, 3), (3 / 5, 3, 5), (4 / 7, 4, 7),
                                 (5 / 9, 5, 9), (6 / 11, 6, 11))] +
                [('II', dict(num_segments=n), f'{n} segments')
                 for n in range(2, 7)] +
                [('III', dict(num_segments=n), f'{n} segments')
                 for n in (2, 4, 8)] +
                [('IV', dict(num_segments=n), f'{n} segments')
                 for n in range(2, 6)])
SWEEP_SETTINGS = {
    '224': dict(image_size=224, patch_size=7, kernel_size=7, classes=1000),
    '32': dict(image_size=32, patch_size=2, kernel_size=5, classes=10),
}
SMALL_INPUT_PIXELS = 64 * 64
SMALL_INPUT_BATCH = 512
LARGE_INPUT_BATCH = 64


def configs_root() -> Path:
    """The ``configs`` folder that comes with the imported mmsplitmix (its
    source tree, or the copy an installed package ships), beside its
    ``model-index.yml``."""
    from mmsplitmix.apis import model_index_path
    index = model_index_path()
    if index is None or not (index.parent / 'configs').is_dir():
        raise FileNotFoundError(
            'cannot find the configs folder of mmsplitmix: install it from '
            'a clone of the repository, or pass config files')
    return index.parent / 'configs'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Measure inference and training throughput (images/s) '
        'of the models of configs')
    parser.add_argument(
        'configs',
        nargs='*',
        help='config files or installed packages\' configs by name '
        '(mmpretrain::convmixer/...), measured in this order')
    parser.add_argument(
        '--paper',
        action='store_true',
        help='measure the paper\'s set: ConvMixer-256/8 and SplitMixer I-IV '
        'at 32 px (CIFAR-10 configs) and 224 px (Food101 configs)')
    parser.add_argument(
        '--cost-curve',
        action='store_true',
        help='measure SplitMixer against ConvMixer of its width and depth '
        'at every scale: 256/8 at 32 px (CIFAR-10 configs, batch 64) and '
        '224 px (Food101 configs, batch 16), ImageNet-scale SplitMixer-I '
        'against mmpretrain\'s ConvMixer (batch 4); --batch-size sets one '
        'batch size for all')
    parser.add_argument(
        '--reference',
        action='store_true',
        help='after each SplitMixer of settings I-V also measure the same '
        'model with every layer run as a module (layer by layer), and with '
        'that and the straightforward channel mixers (slice, 1x1 conv, '
        'concatenate; reference)')
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
        '--sweep',
        choices=sorted(SWEEP_SETTINGS),
        help='measure the original code\'s sweep of SplitMixer settings and '
        'segment counts against ConvMixer-256/8 at 224 px (patch 7, kernel '
        '7) or 32 px (patch 2, kernel 5)')
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=MODES,
        default=[mode for mode in MODES if mode != 'onnxruntime'],
        help='modes to measure every model in (default: all but '
        'onnxruntime, which needs onnx, onnxruntime and onnxscript and a '
        'CPU; deploy modes only for models that offer a deploy form; deploy '
        'and onnxruntime for inference only)')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='after measuring, print the slowest operators of every model '
        'and mode measured (torch.profiler; compiled modes show their '
        'compiled graph as one operator)')
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
    sources = [
        bool(args.configs), args.paper, args.cost_curve, args.sweep is not None
    ]
    if sum(sources) > 1:
        raise ValueError('give one of: config files, --paper, --cost-curve '
                         'or --sweep, not several')
    if args.sweep is not None:
        return []
    if args.paper or args.cost_curve:
        paths = preset_paths(PAPER_CONFIGS if args.paper else COST_CURVE)
    elif args.configs:
        paths = list(args.configs)
    else:
        raise ValueError('no configs given: pass config files, --paper, '
                         '--cost-curve or --sweep')
    missing = [path for path in paths if not config_exists(path)]
    if missing:
        raise FileNotFoundError(f'config files not found: {missing}')
    return paths


def preset_paths(names) -> list:
    """The configs of a preset: this project's under :func:`configs_root`,
    an installed package's by name (``mmpretrain::...``) as they are."""
    root = configs_root()
    return [name if '::' in name else str(root / name) for name in names]


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
        if path:
            check_output_file(f'--{option}', path)
    return device


def batch_size_for(args, path: str, input_shape) -> int:
    """``--batch-size``, else the cost curve's batch size of ``path``, else
    the default of the input size."""
    if args.batch_size:
        return args.batch_size
    if args.cost_curve:
        return dict(zip(preset_paths(COST_CURVE), COST_CURVE.values()))[path]
    if input_shape[1] * input_shape[2] <= SMALL_INPUT_PIXELS:
        return SMALL_INPUT_BATCH
    return LARGE_INPUT_BATCH


def width_and_depth(model) -> dict:
    """``width`` (channels) and ``depth`` (blocks) of an isotropic
    backbone such as SplitMixer, ConvMixer or MLP-Mixer; None where the
    backbone does not say."""
    backbone = getattr(model, 'backbone', model)
    depth = getattr(backbone, 'depth', getattr(backbone, 'num_layers', None))
    return dict(width=getattr(backbone, 'embed_dims', None), depth=depth)


def sweep_models(setting: str) -> list:
    """``(name, model, input_shape)`` of the sweep ``setting`` (a key of
    :data:`SWEEP_SETTINGS`), ConvMixer-256/8 first."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mmsplitmix  # noqa: F401  (registers SplitMixer)

    spec = SWEEP_SETTINGS[setting]
    arch = dict(
        embed_dims=256,
        depth=8,
        patch_size=spec['patch_size'],
        kernel_size=spec['kernel_size'])
    backbones = [('convmixer-256-8', dict(type='ConvMixer', arch=arch))] + [
        (f'splitmixer-{mixer.lower()}-256-8 ({label})',
         dict(type='SplitMixer', arch=arch, mixer_setting=mixer, **kwargs))
        for mixer, kwargs, label in SWEEP_MODELS
    ]
    shape = (3, spec['image_size'], spec['image_size'])
    models = []
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for name, backbone in backbones:
            model = MODELS.build(
                dict(
                    type='ImageClassifier',
                    backbone=backbone,
                    neck=dict(type='GlobalAveragePooling'),
                    head=dict(
                        type='LinearClsHead',
                        num_classes=spec['classes'],
                        in_channels=256)))
            models.append((name, model, shape))
    return models


def config_models(paths, args) -> list:
    """``(name, model, input_shape)`` of config files, named by their model
    part ('splitmixer-i-256-8' for 'splitmixer-i-256-8_1xb512_cifar10.py'),
    or by the whole stem where two configs share a model part (as the
    CIFAR-10 and Food101 configs of one model), so that every name is one
    model at one input size."""
    stems = [Path(path).stem for path in paths]
    repeated = sorted({stem for stem in stems if stems.count(stem) > 1})
    if repeated:
        raise ValueError(f'configs given more than once: {repeated}')
    parts = [stem.split('_')[0] for stem in stems]
    models = []
    for path, stem, part in zip(paths, stems, parts):
        cfg = load_config(path)
        name = part if parts.count(part) == 1 else stem
        models.append((name, build_model_from_config(cfg),
                       input_shape_for(cfg, args.shape)))
    return models


def build_cases(paths, args):
    """The cases to measure (every model in every mode it supports) and
    what the tables report about each model."""
    if args.sweep is not None:
        models = sweep_models(args.sweep)
        if args.shape:
            raise ValueError('--shape cannot be combined with --sweep, which '
                             'sets its own input size')
        sources = [f'sweep {args.sweep}'] * len(models)
    else:
        models = config_models(paths, args)
        sources = list(paths)
    cases, infos = [], {}
    for (name, model, input_shape), source in zip(models, sources):
        batch_size = batch_size_for(args, source, input_shape)
        variants = [(name, model, False)]
        if args.reference and has_reference(model):
            variants += [(f'{name} (layer by layer)',
                          to_layer_by_layer_model(model), True),
                         (f'{name} (reference)', to_reference_model(model),
                          True)]
        for variant_name, variant, reference in variants:
            complexity = get_complexity(variant, input_shape)
            infos[variant_name] = dict(
                name=variant_name,
                config=source,
                reference=reference,
                input_shape=list(input_shape),
                batch_size=batch_size,
                **width_and_depth(variant),
                params=complexity['params'],
                flops=complexity['flops'])
            for mode in args.modes:
                if supports_mode(variant, mode):
                    cases.append(
                        BenchmarkCase(variant_name, variant, input_shape,
                                      batch_size, mode))
    return cases, infos


def comparison_groups(cases, infos) -> list:
    """``cases`` in groups of the models compared with one another (see
    ``benchmark_report.comparison_key``), in order of first appearance.
    Each group is measured round-robin on its own and released before the
    next, so that a run of large models holds one group's copies, not all
    of them."""
    groups = {}
    for case in cases:
        groups.setdefault(comparison_key(infos[case.name]), []).append(case)
    return list(groups.values())


def print_profiles(cases, device: str, amp: bool) -> None:
    """Print the slowest operators of every case's steps."""
    for case in cases:
        profile = profile_operators(case, device=device, amp=amp)
        for kind in ('inference', 'training'):
            if kind not in profile:
                continue
            print(f'\nOperators of {case.name}, {case.mode}, {kind} '
                  f"({profile[f'{kind}_total']:.1f} ms per step):")
            for name, ms, share in profile[kind]:
                print(f'  {name:40s} {ms:9.1f} ms {100 * share:5.1f} %')


def main(argv=None):
    args = parse_args(argv)
    paths = resolve_configs(args)
    device = check_args(args)
    if any('compile' in mode_features(mode) for mode in args.modes):
        # one compiled graph per model and mode, all of one class
        import torch._dynamo as dynamo
        dynamo.config.cache_size_limit = max(dynamo.config.cache_size_limit,
                                             64)
    cases, infos = build_cases(paths, args)
    if not cases:
        raise ValueError('no models to benchmark: none of the models runs in '
                         f'the modes asked for ({", ".join(args.modes)})')
    speeds = {}
    for group in comparison_groups(cases, infos):
        measured = measure_throughput(
            group,
            device=device,
            amp=args.amp,
            warmup=args.warmup,
            repeats=args.repeats)
        speeds.update(zip(map(id, group), measured))
    measurements = [
        dict(infos[case.name], mode=case.mode, **speeds[id(case)])
        for case in cases
    ]
    results = add_speedups(best_modes(measurements))
    settings = dict(
        device=device,
        device_name=describe_device(device),
        amp=args.amp,
        modes=list(args.modes),
        warmup=args.warmup,
        repeats=args.repeats,
        torch=torch.__version__,
        cudnn_benchmark=autotunes_cudnn(device))
    precision = 'AMP (float16)' if args.amp else 'fp32'
    title = f"{settings['device_name']}, {precision}"
    tuning = '; cuDNN autotuner on' if settings['cudnn_benchmark'] else ''
    print(f'Device: {title}; torch {torch.__version__}{tuning}; median of '
          f'{args.repeats} steps after {args.warmup} warm-up steps')
    print('\nEvery mode (the first step includes compiling):\n')
    print(format_modes_table(measurements))
    print('\nEach model at its best mode:\n')
    print(format_table(results))
    if args.profile:
        print_profiles(cases, device, args.amp)
    if args.out:
        write_json(args.out, results, measurements, settings)
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
