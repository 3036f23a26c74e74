"""Quick start: train, evaluate and use SplitMixer on a real dataset that
ships with scikit-learn, on a CPU or a GPU, with no download.

It runs the project's own commands, printing each one first:

1. ``tools/dataset_converters/digits_to_imagefolder.py``: the 1,797
   handwritten digits of scikit-learn as image folders (fixed split).
2. ``tools/train.py`` with ``configs/quickstart/`` (SplitMixer-I 256/8, the
   paper's CIFAR recipe).
3. ``tools/test.py`` on the held-out split.
4. ``mmpretrain.inference_model`` on one held-out image.
5. ``tools/analysis_tools/get_flops.py`` for the model's params and FLOPs.
6. ``tools/analysis_tools/plot_curves.py`` for the training curves (PNG).

Example:
    python tools/quickstart.py
    python tools/quickstart.py --epochs 2 --work-dir work_dirs/try
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / 'configs/quickstart/splitmixer-i-256-8_1xb64_digits.py'
IMAGE_SIZE = 16


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train, evaluate and use SplitMixer-I on the digits')
    parser.add_argument(
        '--data-root',
        default='data/digits',
        help='where the digit image folders go (default: data/digits)')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/quickstart',
        help='checkpoints, logs, metrics and curves '
        '(default: work_dirs/quickstart)')
    parser.add_argument(
        '--epochs',
        type=int,
        help='number of training epochs (default: the config\'s)')
    parser.add_argument(
        '--config',
        default=str(DEFAULT_CONFIG),
        help='training config (default: the quick-start config)')
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs must be a positive int, got {args.epochs}')
    if not Path(args.config).is_file():
        parser.error(f'--config: no such file: {args.config}')
    return args


def run(command):
    """Run a command of the project, showing it and its output."""
    printable = shlex.join(str(part) for part in command)
    print(f'\n$ {printable}', flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    result = subprocess.run([str(part) for part in command], env=env)
    if result.returncode != 0:
        sys.exit(f'error: `{printable}` failed with exit code '
                 f'{result.returncode}')


def data_root_options(data_root):
    return [
        f'{loader}.dataset.data_root={data_root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]


def last_checkpoint(work_dir):
    pointer = Path(work_dir) / 'last_checkpoint'
    if not pointer.is_file():
        sys.exit(f'error: training wrote no checkpoint: {pointer} is missing')
    return Path(pointer.read_text().strip())


def register_trained_model(work_dir, config, checkpoint, top1):
    """Add the trained model to mmpretrain's model zoo, the way a user
    publishes their own models: a model-index file naming its config and
    weights. Returns the model's name."""
    import yaml
    from mmpretrain.apis import ModelHub

    name = Path(config).stem
    entry = dict(
        Name=name,
        Results=[
            dict(
                Task='Image Classification',
                Dataset='scikit-learn digits (held-out split)',
                Metrics={'Top 1 Accuracy': round(float(top1), 2)})
        ],
        Config=str(Path(config).resolve()),
        Weights=str(Path(checkpoint).resolve()))
    index = Path(work_dir) / 'model-index.yml'
    index.write_text(yaml.safe_dump(dict(Models=[entry]), sort_keys=False))
    ModelHub.register_model_index(index)
    return name


def predict(work_dir, config, checkpoint, top1, image):
    from mmpretrain import inference_model

    import mmsplitmix  # noqa: F401  (registers SplitMixer)
    from mmsplitmix.utils import safe_checkpoint_loading

    name = register_trained_model(work_dir, config, checkpoint, top1)
    print(f'registered {name!r} from {Path(work_dir) / "model-index.yml"}')
    # A training checkpoint holds mmengine's logging state besides weights.
    with safe_checkpoint_loading():
        return inference_model(name, str(image), pretrained=True)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    python = sys.executable
    tools = ROOT / 'tools'
    data_root = Path(args.data_root).resolve()
    work_dir = Path(args.work_dir).resolve()
    options = data_root_options(data_root)

    print('== 1/6 the dataset: scikit-learn digits as image folders')
    run([
        python, tools / 'dataset_converters/digits_to_imagefolder.py',
        data_root, '--size', IMAGE_SIZE
    ])

    print('\n== 2/6 training SplitMixer-I')
    train_options = list(options)
    if args.epochs is not None:
        train_options.append(f'train_cfg.max_epochs={args.epochs}')
    # A quick start run again starts over; the earlier run's checkpoints
    # are moved to previous_runs/ in the work dir.
    run([
        python, tools / 'train.py', args.config, '--work-dir', work_dir,
        '--new-run', '--cfg-options', *train_options
    ])
    checkpoint = last_checkpoint(work_dir)

    print('\n== 3/6 evaluating on the held-out split')
    metrics_file = work_dir / 'test_metrics.json'
    run([
        python, tools / 'test.py', args.config, checkpoint, '--work-dir',
        work_dir, '--out', metrics_file, '--out-item', 'metrics',
        '--cfg-options', *options
    ])
    metrics = json.loads(metrics_file.read_text())
    top1 = metrics.get('accuracy/top1')
    if top1 is None:
        sys.exit(f'error: {metrics_file} holds no accuracy/top1: {metrics}')

    print('\n== 4/6 predicting one held-out image with inference_model')
    image = sorted((data_root / 'val').glob('*/*.png'))[-1]
    result = predict(work_dir, args.config, checkpoint, top1, image)
    print(f'{image}: true class {image.parent.name}, predicted '
          f'{result["pred_class"]} (label {result["pred_label"]}, '
          f'score {result["pred_score"]:.3f})')

    print('\n== 5/6 params and FLOPs (the paper\'s convention)')
    run([python, tools / 'analysis_tools/get_flops.py', args.config])

    print('\n== 6/6 training curves')
    curves = work_dir / 'curves.png'
    run([
        python, tools / 'analysis_tools/plot_curves.py', work_dir, '--out',
        curves, '--title', 'SplitMixer-I 256/8 on scikit-learn digits'
    ])

    minutes = (time.time() - start) / 60
    print('\n== done')
    print(f'held-out top-1: {top1:.2f} %')
    print(f'checkpoint: {checkpoint}\ncurves: {curves}\n'
          f'time: {minutes:.1f} min')


if __name__ == '__main__':
    main()
