"""Quick start: train, test and use SplitMixer on real data in minutes, on
a CPU or a GPU, with nothing downloaded.

1. scikit-learn's 1,797 handwritten digits as image folders (fixed split);
2. ``tools/train.py`` with ``configs/quickstart/`` (SplitMixer-I 256/8, the
   paper's CIFAR recipe), with a progress bar;
3. ``tools/test.py`` on the held-out digits;
4. a prediction of one held-out image (mmpretrain's
   ``ImageClassificationInferencer``), params and FLOPs, and the training
   curves as a PNG.

Each command's full output goes to a log file in the work dir.

Example:
    python tools/quickstart.py
    python tools/quickstart.py --epochs 2 --work-dir work_dirs/try
"""
import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/quickstart/splitmixer-i-256-8_1xb64_digits.py'
BAR = 24


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train, test and use SplitMixer-I on handwritten digits')
    parser.add_argument(
        '--data-root', default='data/digits', help='(default: data/digits)')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/quickstart',
        help='checkpoints, logs and curves (default: work_dirs/quickstart)')
    parser.add_argument(
        '--epochs', type=int, help='training epochs (default: the config\'s)')
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs must be a positive int, got {args.epochs}')
    return args


def load_tool(relative_path):
    spec = importlib.util.spec_from_file_location(
        Path(relative_path).stem, ROOT / 'tools' / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def minutes(seconds):
    return f'{int(seconds // 60)}:{int(seconds % 60):02d}'


def scalars_file(work_dir, since):
    """The file of scalars mmengine logs (``<work_dir>/<run>/vis_data``)
    for the run started at ``since``, or None."""
    files = [
        path for path in Path(work_dir).glob('*/vis_data/scalars.json')
        if path.stat().st_mtime >= since
    ]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


def scalars(path):
    if path is None:
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def show_progress(records, epochs, start, final=False):
    train = [r for r in records if 'loss' in r]
    val = [r['accuracy/top1'] for r in records if 'accuracy/top1' in r]
    if not train:
        return
    epoch = min(max(r['epoch'] for r in train), epochs)
    done = round(BAR * epoch / epochs)
    bar = '#' * done + '.' * (BAR - done)
    line = (f'      epoch {epoch:>2}/{epochs} [{bar}] loss '
            f'{train[-1]["loss"]:.3f}')
    if val:
        line += f'  held-out top-1 {val[-1]:5.1f} %'
    line += f'  {minutes(time.time() - start)}'
    if sys.stdout.isatty():
        print('\r' + line, end='\n' if final else '', flush=True)
    elif len(val) > show_progress.printed:  # a line an epoch
        show_progress.printed = len(val)
        print(line, flush=True)


show_progress.printed = 0


def shown(part):
    """A command's part as a user would type it from the current folder."""
    if part == sys.executable:
        return 'python'
    if isinstance(part, Path) and part.is_absolute():
        relative = os.path.relpath(part)
        return relative if not relative.startswith('..') else str(part)
    return str(part)


def run(command, log, progress=None):
    """Run a project command, its output to ``log``; stop on failure."""
    print(f'      $ {shlex.join(shown(c) for c in command)}', flush=True)
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    with open(log, 'w') as out:
        proc = subprocess.Popen([str(c) for c in command],
                                stdout=out,
                                stderr=subprocess.STDOUT,
                                env=env)
        while proc.poll() is None:
            time.sleep(0.5)
            if progress:
                progress()
    if progress:
        progress(final=True)
    if proc.returncode != 0:
        tail = Path(log).read_text().splitlines()[-25:]
        sys.exit('\n'.join(tail) + f'\nerror: the command failed (exit '
                 f'{proc.returncode}); its whole output is in {log}')


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    data_root, work_dir = Path(args.data_root), Path(args.work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    python, tools = sys.executable, ROOT / 'tools'
    print('SplitMixer quick start (the full output of each command: '
          f'{shown(work_dir)}/*.log)')

    step = time.time()
    digits = load_tool('dataset_converters/digits_to_imagefolder.py')
    counts = digits.export_digits(data_root, size=16)
    print(f'[1/4] Digits: {counts["train"]} training and {counts["val"]} '
          f'held-out images in {shown(data_root.resolve())} '
          f'({time.time() - step:.1f} s)')

    # mmcv-lite's notice that it lacks a compiled op no model here uses
    warnings.filterwarnings('ignore', 'Fail to import ``MultiScale')
    from mmengine.config import Config
    epochs = args.epochs or Config.fromfile(str(CONFIG)).train_cfg.max_epochs
    # the config reads data/digits (from the repository's root)
    roots = [] if data_root.resolve() == Path('data/digits').resolve() else [
        f'{loader}.dataset.data_root={data_root.resolve()}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    options = roots + ([f'train_cfg.max_epochs={epochs}']
                       if args.epochs else [])
    print(f'[2/4] Training SplitMixer-I 256/8 for {epochs} epoch'
          f'{"s" if epochs > 1 else ""}')
    step = time.time()
    run([
        python, tools / 'train.py', CONFIG, '--work-dir', work_dir, '--new-run'
    ] + (['--cfg-options', *options] if options else []),
        work_dir / 'train.log',
        lambda final=False: show_progress(
            scalars(scalars_file(work_dir, step)), epochs, step, final))
    training_scalars = scalars_file(work_dir, step)
    checkpoint = Path((work_dir / 'last_checkpoint').read_text().strip())

    print('[3/4] Testing on the held-out digits')
    step = time.time()
    metrics = work_dir / 'test_metrics.json'
    run([
        python, tools / 'test.py', CONFIG, checkpoint, '--work-dir', work_dir,
        '--out', metrics, '--out-item', 'metrics'
    ] + (['--cfg-options', *roots] if roots else []), work_dir / 'test.log')
    top1 = json.loads(metrics.read_text())['accuracy/top1']
    print(f'      held-out top-1: {top1:.2f} % ({time.time() - step:.1f} s)')

    print('[4/4] Using the model: predictions, params and FLOPs, curves')
    from mmpretrain import ImageClassificationInferencer, get_model

    import mmsplitmix
    from mmsplitmix.analysis import format_millions, get_complexity
    image = sorted((data_root / 'val').glob('*/*.png'))[-1]
    # a training checkpoint holds mmengine's logging state: read it
    # weights-only so; mmpretrain's messages go to the log, not the screen
    with open(work_dir / 'predict.log', 'w') as log, \
            contextlib.redirect_stdout(log), \
            mmsplitmix.safe_checkpoint_loading():
        model = get_model(str(CONFIG), pretrained=str(checkpoint))
        result = ImageClassificationInferencer(model)(str(image))[0]
    print(f'      {shown(image.resolve())}: true class {image.parent.name}, '
          f'predicted '
          f'{result["pred_class"]} (score {result["pred_score"]:.3f})')
    complexity = get_complexity(model, (3, 16, 16))
    print(f'      {format_millions(complexity["params"])} params, '
          f'{format_millions(complexity["flops"])} FLOPs per 16 x 16 image '
          "(the paper's convention)")
    curves = load_tool('analysis_tools/plot_curves.py')
    curves.plot_curves(*curves.read_scalars(training_scalars),
                       work_dir / 'curves.png',
                       'SplitMixer-I 256/8 on scikit-learn digits')
    print(f'      training curves: {shown(work_dir / "curves.png")}')
    print(f'Done in {minutes(time.time() - start)} min: held-out top-1 '
          f'{top1:.2f} %, checkpoint {shown(checkpoint)}')


if __name__ == '__main__':
    main()
