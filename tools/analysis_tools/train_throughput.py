"""End-to-end training throughput of a CIFAR-10 recipe, and where it is held
back.

The tool writes a CIFAR-10 dataset in the layout of the real
``cifar-10-batches-py`` (the five training batches, the test batch and
``batches.meta``, pickled as the originals are) with random images and
labels, 50,000 training images by default, and trains on it with the
config's training pipeline (RandAugment included), batch size, optimizer
wrapper (mixed precision on a GPU with ``--amp``, as ``tools/train.py
--amp``) and as many dataloader workers as the machine has CPU cores. Three
rates are measured, in images per second, each after ``--warmup`` untimed
iterations:

- the whole training loop: mmengine's Runner, set up as ``tools/train.py``
  sets it up (validation off), timed between iterations inside its loop, so
  data loading, the train step and the hooks all count;
- the data pipeline alone: iterating the same dataloader, nothing else;
- the model alone: train steps (``model.train_step`` with the Runner's
  optimizer wrapper) on one fixed batch already on the device.

The slower of the last two is the bottleneck; the loop's rate also gives the
wall time of the config's whole schedule (``train_cfg.max_epochs`` epochs of
the 50,000 CIFAR-10 training images), validation and checkpoint saving
excepted. The whole loop's warm-up is timed too, from the start of
training: it holds the start of the dataloader workers and, with
``--compile``, the compilation.

Examples::

    # the paper's CIFAR-10 recipe (mixed precision) on a GPU
    python tools/analysis_tools/train_throughput.py --amp \\
        --out throughput.json

    # small and quick, e.g. on a CPU
    python tools/analysis_tools/train_throughput.py --num-images 256 \\
        --batch-size 32 --warmup 2 --iters 4 --num-workers 2
"""
import argparse
import functools
import importlib.util
import json
import math
import os.path as osp
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from config_inputs import runner_setup
from device_info import describe_device
from output_paths import check_output_dir, check_output_file

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = (
    REPO_ROOT / 'configs' / 'splitmixer' /
    'splitmixer-i-256-8_1xb512_cifar10.py')
#: The training images of CIFAR-10, the epoch of the schedules.
CIFAR10_TRAIN_IMAGES = 50000
CIFAR10_FOLDER = 'cifar-10-batches-py'
TRAIN_FILES = tuple(f'data_batch_{i}' for i in range(1, 6))
TEST_FILE = 'test_batch'
META_FILE = 'batches.meta'
#: Dataset types of configs whose training data the tool can stand in for.
CIFAR10_TYPES = ('CIFAR10', 'LocalCIFAR10')
GENERATED_DATASET = 'GeneratedCIFAR10'


def parse_args(argv=None):
    from mmsplitmix.datasets.workers import available_cpus
    parser = argparse.ArgumentParser(
        description='Measure the images/s of the whole training loop, of the '
        'data pipeline alone and of the model alone for a CIFAR-10 config, '
        'on a generated CIFAR-10-format dataset.')
    parser.add_argument(
        'config',
        nargs='?',
        default=str(DEFAULT_CONFIG),
        help='a config training on CIFAR10 or LocalCIFAR10 (default: the '
        'paper\'s SplitMixer-I CIFAR-10 recipe)')
    parser.add_argument(
        '--num-images',
        type=int,
        default=CIFAR10_TRAIN_IMAGES,
        help='training images to generate (default: %(default)s, as '
        'CIFAR-10); the test batch gets a fifth as many')
    parser.add_argument(
        '--data-root',
        help='folder for the dataset (it goes into '
        f'DATA_ROOT/{CIFAR10_FOLDER}); a complete dataset already there, '
        'generated or real, is used as it is. Default: a temporary folder, '
        'removed at the end')
    parser.add_argument(
        '--batch-size',
        type=int,
        help='images per iteration (default: the config\'s)')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=available_cpus(),
        help='dataloader worker processes (default: the CPU cores of this '
        'machine, %(default)s)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=20,
        help='untimed iterations before each measurement (default: '
        '%(default)s)')
    parser.add_argument(
        '--iters',
        type=int,
        help='timed iterations of each measurement (default: one epoch of '
        'the generated dataset)')
    parser.add_argument(
        '--work-dir',
        help='work directory of the training run (default: a temporary '
        'folder, removed at the end)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='train in mixed precision on a GPU, as tools/train.py --amp '
        '(the paper\'s recipe); without a GPU it is an error')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='train in the channels-last memory format, as tools/train.py '
        '--channels-last')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='compile the backbone, as tools/train.py --compile; the '
        'warm-up iterations then include the compilation, and the report '
        'gives their time')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='restart the dataloader workers each epoch, as tools/train.py '
        '--no-persistent-workers (with the default --iters, the whole '
        'loop\'s timed iterations span the end of an epoch, so one restart '
        'counts)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='override settings of the config, as for tools/train.py (e.g. '
        'optim_wrapper.dtype=bfloat16)')
    return parser.parse_args(argv)


def check_args(args):
    """Refuse bad options before anything is generated or built; returns
    the config."""
    from mmengine.device import get_device

    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config!r}')
    for name, low in (('num_images', 1), ('batch_size', 1), ('warmup', 1),
                      ('iters', 1), ('num_workers', 0)):
        value = getattr(args, name)
        if value is not None and value < low:
            raise ValueError(
                f'--{name.replace("_", "-")} must be >= {low}, got {value}')
    for name in ('data_root', 'work_dir'):
        check_output_dir(f'--{name.replace("_", "-")}', getattr(args, name))
    if args.out:
        check_output_file('--out', args.out)
    if args.amp and get_device() == 'cpu':
        raise ValueError('--amp: mixed precision needs a GPU and none was '
                         'found; drop --amp to measure in full precision '
                         '(fp32)')
    cfg = runner_setup().load_config(args.config)
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    if dataset.get('type') not in CIFAR10_TYPES:
        raise ValueError(
            f'config {args.config!r} trains on {dataset.get("type")!r}; '
            f'this tool generates CIFAR-10 and needs one of {CIFAR10_TYPES}')
    return cfg


def write_cifar10(root, num_images: int, seed: int = 0) -> Path:
    """Write a CIFAR-10 dataset with random images and labels.

    The files have the layout and pickle format of the real
    ``cifar-10-batches-py``: ``data_batch_1`` ... ``data_batch_5`` share the
    training images, ``test_batch`` holds ``max(1, num_images // 5)``
    images, each a dict with ``batch_label``, ``labels``, ``data`` (uint8,
    one row of 3,072 values per image, channel-major) and ``filenames``;
    ``batches.meta`` holds ``label_names``, ``num_cases_per_batch`` and
    ``num_vis``.

    Args:
        root: The folder to create ``cifar-10-batches-py`` in.
        num_images (int): Training images.
        seed (int): Seed of the random content. Defaults to 0.

    Returns:
        Path: The ``cifar-10-batches-py`` folder.
    """
    from mmpretrain.datasets.categories import CIFAR10_CATEGORIES

    folder = Path(root) / CIFAR10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = [len(part) for part in np.array_split(np.arange(num_images), 5)]
    batches = [(name, f'training batch {i + 1} of 5', size)
               for i, (name, size) in enumerate(zip(TRAIN_FILES, sizes))]
    batches.append((TEST_FILE, 'testing batch 1 of 1', max(1,
                                                           num_images // 5)))
    for name, label, size in batches:
        entry = {
            'batch_label': label,
            'labels': rng.integers(0, 10, size).tolist(),
            'data': rng.integers(0, 256, (size, 3072), dtype=np.uint8),
            'filenames': [f'random_{name}_{i}.png' for i in range(size)],
        }
        with open(folder / name, 'wb') as file:
            pickle.dump(entry, file, protocol=pickle.HIGHEST_PROTOCOL)
    meta = {
        'label_names': list(CIFAR10_CATEGORIES),
        'num_cases_per_batch': max(sizes),
        'num_vis': 3072,
    }
    with open(folder / META_FILE, 'wb') as file:
        pickle.dump(meta, file, protocol=pickle.HIGHEST_PROTOCOL)
    return folder


def cifar10_present(root) -> bool:
    """Whether ``root`` holds a complete ``cifar-10-batches-py``.

    Raises:
        FileNotFoundError: The folder exists but misses some files.
    """
    folder = Path(root) / CIFAR10_FOLDER
    if not folder.exists():
        return False
    missing = [
        name for name in TRAIN_FILES + (TEST_FILE, META_FILE)
        if not (folder / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f'{folder} is incomplete: {", ".join(missing)} missing; remove '
            'the folder to have the dataset generated, or complete it')
    return True


def register_generated_dataset():
    """Register :data:`GENERATED_DATASET`: the project's ``LocalCIFAR10``
    without the md5 checks of the real files, which generated files fail."""
    from mmpretrain.registry import DATASETS

    from mmsplitmix.datasets import LocalCIFAR10

    class GeneratedCIFAR10(LocalCIFAR10):
        train_list = [[name, None] for name in TRAIN_FILES]
        test_list = [[TEST_FILE, None]]
        meta = dict(LocalCIFAR10.meta, md5=None)

    DATASETS.register_module(
        name=GENERATED_DATASET, module=GeneratedCIFAR10, force=True)


@functools.lru_cache(maxsize=None)
def load_train_tool():
    """tools/train.py as a module: the Runner is set up as it sets it up."""
    tools_dir = str(REPO_ROOT / 'tools')
    spec = importlib.util.spec_from_file_location(
        'mmsplitmix_train_tool', osp.join(tools_dir, 'train.py'))
    module = importlib.util.module_from_spec(spec)
    # It imports the modules beside it by name, as a script does.
    sys.path.insert(0, tools_dir)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(tools_dir)
    return module


def train_flags(args) -> list:
    """The options of tools/train.py this measurement trains with."""
    flags = [('--amp', args.amp), ('--channels-last', args.channels_last),
             ('--compile', args.compile),
             ('--no-persistent-workers', args.no_persistent_workers)]
    return [flag for flag, given in flags if given]


def prepare_config(cfg, args, data_root, work_dir):
    """The config as ``tools/train.py --no-validate`` (and ``--amp``) would
    run it, reading the generated dataset with the config's training
    pipeline."""
    train_tool = load_train_tool()
    _, train_args = train_tool.parse_args(
        [args.config, '--work-dir',
         str(work_dir), '--no-validate'] + train_flags(args) +
        (['--cfg-options'] + args.cfg_options if args.cfg_options else []))
    dataset = cfg.train_dataloader.dataset
    dataset.type = GENERATED_DATASET
    dataset.data_root = str(data_root)
    dataset.pop('data_prefix', None)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.num_workers = args.num_workers
    # Logs every 10 iterations at most, so short runs show progress too.
    logger = cfg.get('default_hooks', {}).get('logger')
    if logger is not None:
        logger.interval = min(logger.get('interval', 10), 10)
    return train_tool.merge_args(cfg, train_args)


def _synchronize(device: str) -> None:
    if device == 'cuda':
        import torch
        torch.cuda.synchronize()


class MeasurementDone(Exception):
    """Ends the training run once the timed iterations are done."""


def make_loop_timer(warmup: int, iters: int, device: str):
    """A hook that times ``iters`` iterations of the training loop after
    ``warmup`` ones, then ends the run with :class:`MeasurementDone`. The
    warm-up is timed too, from the start of training: it holds the start
    of the dataloader workers and, with ``--compile``, the compilation."""
    from mmengine.hooks import Hook

    class LoopTimerHook(Hook):
        priority = 'LOWEST'  # after every other hook of the iteration

        def __init__(self):
            self.done = 0
            self.images = 0
            self.began = None
            self.start = None
            self.warmup_seconds = None
            self.seconds = None

        def before_train(self, runner):
            self.began = time.perf_counter()

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            self.done += 1
            if self.done > warmup:
                self.images += len(data_batch['inputs'])
            if self.done == warmup:
                _synchronize(device)
                self.start = time.perf_counter()
                self.warmup_seconds = self.start - self.began
            elif self.done == warmup + iters:
                _synchronize(device)
                self.seconds = time.perf_counter() - self.start
                raise MeasurementDone

    return LoopTimerHook()


def measure_data(loader, warmup: int, iters: int):
    """Iterate the dataloader; returns (images, seconds, first batch)."""
    batches = iter(loader)
    first = None
    images = 0
    start = None
    for step in range(warmup + iters):
        if step == warmup:
            start = time.perf_counter()
        try:
            batch = next(batches)
        except StopIteration:  # a new epoch
            batches = iter(loader)
            batch = next(batches)
        if first is None:
            first = batch
        if step >= warmup:
            images += len(batch['inputs'])
    return images, time.perf_counter() - start, first


def measure_model(model, optim_wrapper, batch, warmup: int, iters: int,
                  device: str):
    """Train steps on one batch; returns (images, seconds)."""
    batch = model.data_preprocessor.cast_data(batch)
    for _ in range(warmup):
        model.train_step(batch, optim_wrapper)
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        model.train_step(batch, optim_wrapper)
    _synchronize(device)
    return len(batch['inputs']) * iters, time.perf_counter() - start


def precision_of(optim_wrapper) -> str:
    from mmengine.optim import AmpOptimWrapper
    if isinstance(optim_wrapper, AmpOptimWrapper):
        dtype = optim_wrapper.cast_dtype
        name = 'float16' if dtype is None else str(dtype).replace('torch.', '')
        return f'AMP ({name})'
    return 'fp32'


def summarize(rates, max_epochs: int):
    """Bottleneck and implied wall time of ``max_epochs`` CIFAR-10 epochs
    from the three rates (images/s)."""
    data, model = rates['data_pipeline'], rates['model']
    if data < model:
        bottleneck, factor = 'data pipeline', model / data
    else:
        bottleneck, factor = 'model', data / model
    images = max_epochs * CIFAR10_TRAIN_IMAGES
    return dict(
        bottleneck=bottleneck,
        bottleneck_factor=factor,
        loop_efficiency=rates['training_loop'] / min(data, model),
        schedule_epochs=max_epochs,
        schedule_images=images,
        implied_seconds={
            name: images / rate
            for name, rate in rates.items()
        })


def format_report(result) -> str:
    s = result['settings']
    rates = result['images_per_second']
    summary = result['summary']
    seconds = summary['implied_seconds']
    flags = ' '.join(s['train_flags']) or 'none'
    lines = [
        f"{Path(s['config']).stem} on {s['device_name']}, "
        f"{s['precision']} (train.py flags: {flags}); batch "
        f"{s['batch_size']}, dataloader workers "
        f"{s['num_workers']}, {s['dataset_images']} training images; "
        f"{s['iters']} timed iterations after {s['warmup']} untimed ones",
        '',
        f"| Measured | images/s | {summary['schedule_epochs']} epochs of "
        f"{CIFAR10_TRAIN_IMAGES:,} images |",
        '| :------- | -------: | ------: |',
    ]
    labels = dict(
        training_loop='whole training loop',
        data_pipeline='data pipeline alone',
        model='model alone (fixed batch)')
    for name, label in labels.items():
        lines.append(f'| {label} | {rates[name]:,.0f} | '
                     f'{seconds[name] / 60:.1f} min |')
    lines += [
        '',
        f"Bottleneck: the {summary['bottleneck']} (the other part alone "
        f"runs {summary['bottleneck_factor']:.2f}x faster); the whole loop "
        f"reaches {100 * summary['loop_efficiency']:.0f} % of the "
        f"{summary['bottleneck']}'s rate.",
        f"Implied wall time of the {summary['schedule_epochs']}-epoch "
        f"schedule (validation and checkpoint saving excepted): "
        f"{seconds['training_loop'] / 60:.1f} min.",
        f"Warm-up: the loop's first {s['warmup']} iterations took "
        f"{result['seconds']['loop_warmup']:.1f} s from the start of "
        f"training (the workers' start and any compilation included).",
    ]
    return '\n'.join(lines)


def run(cfg, args, data_root, work_dir):
    """Generate or find the data, measure, and return the results."""
    import torch
    from mmengine.device import get_device

    import mmsplitmix  # noqa: F401  (registers the datasets and SplitMixer)

    if cifar10_present(data_root):
        print(f'using the dataset in {data_root}')
    else:
        print(f'writing {args.num_images} random CIFAR-10 images to '
              f'{data_root}')
        write_cifar10(data_root, args.num_images)
    register_generated_dataset()
    cfg = prepare_config(cfg, args, data_root, work_dir)
    runner = runner_setup().build_runner(cfg)
    device = get_device()
    loader = runner.build_dataloader(cfg.train_dataloader, seed=runner.seed)
    dataset_images = len(loader.dataset)
    iters = args.iters or math.ceil(
        dataset_images / cfg.train_dataloader.batch_size)

    print(f'data pipeline alone: {args.warmup} + {iters} batches')
    data_images, data_seconds, batch = measure_data(loader, args.warmup, iters)
    del loader  # ends its worker processes

    print(f'whole training loop: {args.warmup} + {iters} iterations')
    timer = make_loop_timer(args.warmup, iters, device)
    runner.register_hook(timer)
    try:
        runner.train()
    except MeasurementDone:
        pass
    if timer.seconds is None:
        raise RuntimeError('the training run ended before the timed '
                           'iterations were done')

    print(f'model alone: {args.warmup} + {iters} train steps')
    model_images, model_seconds = measure_model(runner.model,
                                                runner.optim_wrapper, batch,
                                                args.warmup, iters, device)
    rates = dict(
        training_loop=timer.images / timer.seconds,
        data_pipeline=data_images / data_seconds,
        model=model_images / model_seconds)
    settings = dict(
        config=str(args.config),
        device=device,
        device_name=describe_device(device),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        precision=precision_of(runner.optim_wrapper),
        train_flags=train_flags(args),
        batch_size=cfg.train_dataloader.batch_size,
        num_workers=args.num_workers,
        dataset_images=dataset_images,
        warmup=args.warmup,
        iters=iters)
    return dict(
        settings=settings,
        images_per_second=rates,
        seconds=dict(
            loop_warmup=timer.warmup_seconds,
            training_loop=timer.seconds,
            data_pipeline=data_seconds,
            model=model_seconds),
        summary=summarize(rates, cfg.train_cfg.get('max_epochs', 100)))


def main(argv=None):
    args = parse_args(argv)
    cfg = check_args(args)
    cleanup = []
    try:
        if args.data_root:
            data_root = Path(args.data_root)
        else:
            data_root = Path(tempfile.mkdtemp(prefix='train_throughput_data'))
            cleanup.append(data_root)
        if args.work_dir:
            work_dir = Path(args.work_dir)
        else:
            work_dir = Path(tempfile.mkdtemp(prefix='train_throughput_work'))
            cleanup.append(work_dir)
        result = run(cfg, args, data_root, work_dir)
    finally:
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
    print(format_report(result))
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as file:
            json.dump(result, file, indent=2)
        print(f'results written to {args.out}')
    return result


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        sys.exit(f'error: {error}')
