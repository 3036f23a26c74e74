"""Write scikit-learn's bundled handwritten digits as image folders.

The 1,797 8x8 grey images (10 classes, shipped inside scikit-learn, so no
download) are upscaled to RGB PNGs and split, stratified by class and with a
fixed seed, into a training and a held-out set, in the layout mmpretrain's
``CustomDataset`` reads (one sub-folder per class)::

    OUT_DIR/
    ├── train/
    │   ├── 0/00000.png
    │   └── ...
    └── val/
        ├── 0/00012.png
        └── ...

Example:
    python tools/dataset_converters/digits_to_imagefolder.py data/digits
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export scikit-learn digits as train/val image folders')
    parser.add_argument(
        'out_dir',
        nargs='?',
        default='data/digits',
        help='output folder (default: data/digits)')
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.2,
        help='fraction of every class held out for validation (default 0.2)')
    parser.add_argument(
        '--size',
        type=int,
        default=32,
        help='side of the saved square images in pixels (default 32)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the split (default 0)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='rewrite the images even if the folder is already complete')
    args = parser.parse_args(argv)
    if not 0 < args.val_ratio < 1:
        parser.error(f'--val-ratio must be in (0, 1), got {args.val_ratio}')
    if args.size < 8:
        parser.error(f'--size must be at least 8 pixels, got {args.size}')
    return args


def stratified_split(labels, val_ratio, seed):
    """Indices of a per-class shuffled split; the same for the same seed."""
    rng = np.random.RandomState(seed)
    train, val = [], []
    for label in np.unique(labels):
        indices = np.flatnonzero(labels == label)
        rng.shuffle(indices)
        n_val = max(1, int(round(len(indices) * val_ratio)))
        val.extend(indices[:n_val])
        train.extend(indices[n_val:])
    return sorted(train), sorted(val)


def to_image(pixels, size):
    """An 8x8 array with values 0..16 as a ``size`` x ``size`` RGB image."""
    grey = np.clip(pixels * (255.0 / 16.0), 0, 255).astype(np.uint8)
    image = Image.fromarray(grey, mode='L').resize((size, size), Image.BICUBIC)
    return image.convert('RGB')


def export_digits(out_dir, val_ratio=0.2, size=32, seed=0, force=False):
    """Write the split.

    Returns:
        dict: ``train`` and ``val`` image counts, and ``mean`` and ``std`` of
        the training pixels (0-255 scale, the same for R, G and B), the
        normalisation a config for these images needs.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    labels = digits.target
    splits = dict(
        zip(('train', 'val'), stratified_split(labels, val_ratio, seed)))
    out_dir = Path(out_dir)
    counts = {}
    for split, indices in splits.items():
        for index in indices:
            path = out_dir / split / str(labels[index]) / f'{index:05d}.png'
            if path.exists() and not force:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            to_image(digits.images[index], size).save(path)
        counts[split] = len(indices)
    train_pixels = np.stack([
        np.asarray(to_image(digits.images[i], size))[..., 0]
        for i in splits['train']
    ]).astype(np.float64)
    counts['mean'] = float(train_pixels.mean())
    counts['std'] = float(train_pixels.std())
    return counts


def main(argv=None):
    args = parse_args(argv)
    if osp.isfile(args.out_dir):
        sys.exit(f'error: out_dir {args.out_dir!r} is a file, expected a '
                 'folder')
    counts = export_digits(args.out_dir, args.val_ratio, args.size, args.seed,
                           args.force)
    print(f'digits written to {args.out_dir}: {counts["train"]} training '
          f'and {counts["val"]} held-out images in 10 classes; training '
          f'pixels: mean {counts["mean"]:.2f}, std {counts["std"]:.2f} '
          '(0-255 scale)')


if __name__ == '__main__':
    main()
