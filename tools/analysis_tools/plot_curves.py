"""Plot the training loss and validation accuracy of a run.

Reads the ``scalars.json`` that mmengine's ``LocalVisBackend`` writes under
``WORK_DIR/<timestamp>/vis_data/`` (the newest run when given a work dir).

Example:
    python tools/analysis_tools/plot_curves.py work_dirs/my_run \\
        --out curves.png
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path


def find_scalars(path):
    """``path`` itself if it is a file, else the newest scalars.json below."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f'no such file or work dir: {path}')
    found = sorted(path.glob('*/vis_data/scalars.json'))
    if not found:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {path}: expected the work dir '
            'of a run logged with LocalVisBackend')
    return found[-1]


def read_scalars(path):
    """Split the records into training and validation series."""
    train, val = [], []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f'{path}:{line_no} is not JSON: {exc}')
            if 'loss' in record:
                train.append(record)
            elif any(key.startswith('accuracy/') for key in record):
                val.append(record)
    return train, val


def plot_curves(train, val, out_file, title=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    if train:
        ax_loss.plot([r['step'] for r in train], [r['loss'] for r in train])
    ax_loss.set_xlabel('iteration')
    ax_loss.set_ylabel('training loss')
    ax_loss.grid(alpha=0.3)
    for key in sorted({k
                       for r in val
                       for k in r if k.startswith('accuracy/')}):
        points = [(r['step'], r[key]) for r in val if key in r]
        ax_acc.plot(*zip(*points), marker='o', label=key)
    ax_acc.set_xlabel('epoch')
    ax_acc.set_ylabel('validation accuracy (%)')
    ax_acc.grid(alpha=0.3)
    if val:
        ax_acc.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='work dir of a run, or a scalars.json')
    parser.add_argument('--out', default='curves.png', help='PNG to write')
    parser.add_argument('--title', help='title of the figure')
    args = parser.parse_args(argv)
    if osp.isdir(args.out) or not args.out.lower().endswith('.png'):
        # matplotlib would add '.png' to a name without it
        parser.error(f'--out {args.out!r}: expected the path of a .png file')
    try:
        scalars = find_scalars(args.src)
        train, val = read_scalars(scalars)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
    if not train and not val:
        sys.exit(f'error: {scalars} holds no loss or accuracy records')
    plot_curves(train, val, args.out, args.title)
    print(f'curves of {scalars} written to {args.out}')


if __name__ == '__main__':
    main()
