"""What the analysis tools read from a config: the model and its input size.

The input size of a config is the image size its test pipeline produces: the
size set by the last resize or crop transform, or the native size of the
dataset when the pipeline leaves images as they are (CIFAR's 32 x 32).
"""
import importlib
import os.path as osp
import sys
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

#: Image size (H, W) of datasets whose images all have one size, for test
#: pipelines that do not resize.
NATIVE_IMAGE_SIZES = {
    'CIFAR10': (32, 32),
    'CIFAR100': (32, 32),
    'LocalCIFAR10': (32, 32),
    'LocalCIFAR100': (32, 32),
}

#: Datasets that wrap another one under the key ``dataset``.
_DATASET_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset', 'KFoldDataset')

_UNKNOWN = 'unknown'


def runner_setup():
    """``tools/runner_setup.py``, with which tools/train.py and
    tools/test.py load configs and build runners, imported by name as they
    import it."""
    tools_dir = str(Path(__file__).resolve().parents[1])
    sys.path.insert(0, tools_dir)
    try:
        return importlib.import_module('runner_setup')
    finally:
        sys.path.remove(tools_dir)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file as tools/train.py does, and merge command-line
    overrides.

    The file is read inside :func:`mmsplitmix.package_configs`, so that
    ``mmsplitmix::`` and ``mmpretrain::`` bases resolve; ``custom_imports``
    of the config are imported, and so is :mod:`mmsplitmix`, which registers
    the SplitMixer backbone. A syntax error in the file or a base ends the
    tool with a message naming that file and line.

    A config of an installed package is named as mmengine names it,
    ``PACKAGE::FOLDER/NAME.py`` (``mmpretrain::convmixer/convmixer-768-32_
    10xb64_in1k.py``), and read with ``mmengine.hub.get_config``.

    Args:
        path (str): Path of a python config file, or ``PACKAGE::`` name.
        cfg_options (dict, optional): Overrides in mmengine's
            ``--cfg-options`` form (dotted keys). Defaults to None.

    Returns:
        Config: The config.

    Raises:
        FileNotFoundError: The file, or a file it names, does not exist.
        ValueError: The code of the config fails, or it has no ``model``;
            the message names the file.
    """
    if not isinstance(path, (str, bytes)) and not hasattr(path, '__fspath__'):
        raise TypeError(
            f'config path must be a str or path, got {type(path).__name__}')
    path = str(path)
    if not config_exists(path):
        raise FileNotFoundError(f'config file not found: {path}')
    read = _package_config if _is_package_config(path) else \
        runner_setup().load_config
    try:
        cfg = read(path)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f'config file {path!r}: a file it needs was not found: '
            f'{error}') from None
    except Exception as error:  # noqa: BLE001 - code in the config failed
        raise ValueError(f'config file {path!r} could not be loaded: '
                         f'{type(error).__name__}: {error}') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'config {path} has no `model` field to build')
    return cfg


def _is_package_config(path: str) -> bool:
    """Whether ``path`` names a config of an installed package."""
    return '::' in path


def config_exists(path: str) -> bool:
    """Whether ``path`` is a config file or names a config of an installed
    package (which :func:`load_config` checks as it reads it)."""
    return _is_package_config(path) or osp.isfile(path)


def _package_config(name: str) -> Config:
    """The config ``PACKAGE::PATH`` of an installed package."""
    from mmengine.hub import get_config

    import mmsplitmix
    try:
        with mmsplitmix.package_configs():
            return get_config(name)
    except (KeyError, ValueError) as error:  # not in the package's index
        raise FileNotFoundError(f'no config {name!r} in the installed '
                                f'package: {error}') from None


def build_model_from_config(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` with mmpretrain's model registry.

    The model is built as the config describes, without loading any
    pretrained weights (``init_weights`` is not called).

    Args:
        cfg (Config): A config from :func:`load_config`.

    Returns:
        nn.Module: The model, on the CPU, in training mode.
    """
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return MODELS.build(cfg.model)


def _height_width(size: Union[int, Sequence[int]], order: str,
                  name: str) -> Tuple[int, int]:
    """``(H, W)`` from an int or a pair given in ``order`` ('hw' or 'wh')."""
    if isinstance(size, int):
        return size, size
    if isinstance(size, Sequence) and len(size) == 2 and all(
            isinstance(s, int) for s in size):
        return tuple(size) if order == 'hw' else (size[1], size[0])
    raise ValueError(f'cannot read an image size from {name}={size!r}')


def _transform_output_size(transform: dict):
    """Size (H, W) after ``transform``, ``_UNKNOWN`` when it changes the
    size in a way that depends on the image, or None when it keeps the
    size."""
    kind = str(transform.get('type', '')).split('.')[-1]
    if kind == 'Resize':
        if transform.get('scale') is None or transform.get('keep_ratio'):
            return _UNKNOWN
        return _height_width(transform['scale'], 'wh', 'Resize.scale')
    if kind == 'CenterCrop':
        return _height_width(transform['crop_size'], 'wh',
                             'CenterCrop.crop_size')
    if kind == 'EfficientNetCenterCrop':
        return _height_width(transform['crop_size'], 'hw',
                             'EfficientNetCenterCrop.crop_size')
    if kind == 'RandomCrop':
        return _height_width(transform['crop_size'], 'hw',
                             'RandomCrop.crop_size')
    if kind in ('RandomResizedCrop', 'EfficientNetRandomCrop'):
        return _height_width(transform['scale'], 'hw', f'{kind}.scale')
    if kind in ('ResizeEdge', 'RandomResize', 'RandomChoiceResize'):
        return _UNKNOWN
    return None


def _test_dataset(cfg: Config) -> Optional[dict]:
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict) and isinstance(
                loader.get('dataset'), dict):
            dataset = loader['dataset']
            while str(dataset.get('type', '')).split('.')[-1] in \
                    _DATASET_WRAPPERS and isinstance(
                        dataset.get('dataset'), dict):
                dataset = dataset['dataset']
            return dataset
    return None


def image_size_from_config(cfg: Config) -> Tuple[int, int]:
    """Image size ``(H, W)`` that the config's test pipeline produces.

    Args:
        cfg (Config): A config from :func:`load_config`.

    Returns:
        tuple[int, int]: Height and width.

    Raises:
        ValueError: When the size cannot be read from the config; pass the
            size explicitly then (``--shape`` in the tools).
    """
    dataset = _test_dataset(cfg)
    if dataset is None:
        raise ValueError(
            'the config has no test_dataloader (or val_dataloader) dataset '
            'to read the input size from; pass the size with --shape')
    size = None
    for transform in dataset.get('pipeline', []) or []:
        if isinstance(transform, dict):
            size = _transform_output_size(transform) or size
    if size == _UNKNOWN:
        raise ValueError(
            'the test pipeline does not end in a fixed image size (the last '
            'resize keeps the aspect ratio and no crop follows); pass the '
            'size with --shape')
    if size is not None:
        return size
    kind = str(dataset.get('type', '')).split('.')[-1]
    if kind in NATIVE_IMAGE_SIZES:
        return NATIVE_IMAGE_SIZES[kind]
    raise ValueError(
        f'the test pipeline of the config does not resize or crop, and the '
        f'images of dataset type {kind!r} have no known fixed size; pass '
        'the size with --shape')


def in_channels_from_config(cfg: Config) -> int:
    """Number of input image channels of ``cfg.model`` (3 unless the
    backbone says otherwise)."""
    backbone = cfg.model.get('backbone', cfg.model)
    in_channels = backbone.get('in_channels', 3) if isinstance(backbone,
                                                               dict) else 3
    return int(in_channels)


def parse_shape(shape: Optional[Sequence[int]]) -> Optional[Tuple[int, int]]:
    """``(H, W)`` from a ``--shape`` value of one or two positive ints
    (None stays None)."""
    if shape is None:
        return None
    shape = list(shape)
    if len(shape) not in (1, 2) or not all(
            isinstance(s, int) and s > 0 for s in shape):
        raise ValueError('--shape takes one or two positive ints (H [W]), '
                         f'got {shape}')
    return (shape[0], shape[0]) if len(shape) == 1 else tuple(shape)


def input_shape_for(
        cfg: Config,
        shape: Optional[Sequence[int]] = None) -> Tuple[int, int, int]:
    """Input shape ``(C, H, W)`` of one image for the model of ``cfg``.

    Args:
        cfg (Config): A config from :func:`load_config`.
        shape (Sequence[int], optional): ``(H,)`` or ``(H, W)`` overriding
            the size read from the test pipeline. Defaults to None.

    Returns:
        tuple[int, int, int]: Channels, height and width.
    """
    size = parse_shape(shape)
    if size is None:
        size = image_size_from_config(cfg)
    return (in_channels_from_config(cfg), ) + tuple(size)
