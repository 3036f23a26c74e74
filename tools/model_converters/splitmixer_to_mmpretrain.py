"""Convert a checkpoint of the original SplitMixer code into an mmpretrain
``ImageClassifier`` checkpoint.

The original code saves its models in four layouts; the converter tells
them apart by their parameter names:

``splitmixer``: the ``SplitMixer`` class of its timm models and of its CIFAR
notebook (settings I-V, either trick on or off, ConvMixer with both off)::

    patch_emb.{0,2}                  stem conv, stem BatchNorm
    mixer_blocks.{2i}.fn.{0,2,3,5}   spatial mixing of block i (residual);
                                     fn.{0,2} without the spatial trick
    mixer_blocks.{2i+1}.0            channel mixer of block i (.mixer,
                                     .mixer.{j}, .mixer1/.mixer2, or a plain
                                     conv without the channel trick)
    mixer_blocks.{2i+1}.2            BatchNorm after the channel mixer
    head                             Linear classifier

``stridemixer``: the notebook's ``StrideMixer`` (3-D channel mixing)::

    patch_emb.{0,2}                  stem
    spatial_mixer.{i}.fn.{0,2,3,5}   spatial mixing of block i
    channel_mixer.{i}.0              its Conv3d
    channel_mixer.{i}.3              BatchNorm after it
    head.2                           Linear classifier

``sequential``: the notebook's earlier models (``SplitMixerI`` ... ``V``,
``SplitMixerI_channel_only``, ``ConvMixer``), each one ``nn.Sequential``::

    0, 2                             stem conv, stem BatchNorm
    {3+i}.0.fn.*                     spatial mixing of block i
    {3+i}.1                          channel mixer of block i
    {3+i}.3                          BatchNorm after it
    {depth+5}                        Linear classifier (after pooling and
                                     flattening at depth+3 and depth+4)

``convmixer``: timm's ``ConvMixer``, the baseline of the original code's
throughput and Food-101 scripts::

    stem.{0,2}   blocks.{i}.0.fn.{0,2}   blocks.{i}.1   blocks.{i}.3   head

Every layout converts by renaming only, to the names of an mmpretrain
``ImageClassifier`` with the SplitMixer backbone (or, for ConvMixers,
mmpretrain's ConvMixer), a GlobalAveragePooling neck and a LinearClsHead::

    backbone.stem.{0,2}   backbone.stages.{i}.0.fn.*   backbone.stages.{i}.1*
    backbone.stages.{i}.3 head.fc

Load the result into the config of the same model: a StrideMixer into
``mixer_setting='3D'`` with its ``channel_kernel_size`` and
``channel_stride``, a ConvMixer into a ConvMixer config (or a SplitMixer with
``spatial_trick=False, channel_trick=False``).

The source may hold the state dict at its top level or under
``state_dict`` (a ``module.`` prefix from DataParallel is removed). It is
read weights-only, which runs no pickled code; a file you trust that holds
other objects loads with PyTorch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``.
The result is written through a temporary file, so that an existing
destination is replaced whole or left as it was.

Example::

    python tools/model_converters/splitmixer_to_mmpretrain.py \\
        splitmixer_i_cifar10.pth splitmixer-i-256-8_1xb512_cifar10.pth
"""
import argparse
import io
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Tuple

import torch

from mmsplitmix.engine import (AtomicLocalBackend, UnsafeCheckpointError,
                               read_checkpoint)
from mmsplitmix.engine.hooks.safe_loading_hook import full_unpickling_forced

_SPLITMIXER_BLOCK = re.compile(r'^mixer_blocks\.(\d+)\.(.+)$')
_STRIDE_SPATIAL = re.compile(r'^spatial_mixer\.(\d+)\.(fn\..+)$')
_STRIDE_CHANNEL = re.compile(r'^channel_mixer\.(\d+)\.([03])\.(.+)$')
_CONVMIXER_BLOCK = re.compile(r'^blocks\.(\d+)\.(0\.fn\.|[13]\.)(.+)$')
_SEQUENTIAL_KEY = re.compile(r'^(\d+)\.(.+)$')
_PARAM = re.compile(r'^[a-z_]+$')  # weight, bias, running_mean, ...
# What the blocks of the ``sequential`` layout hold: spatial mixing,
# channel mixer, BatchNorm.
_BLOCK_PARTS = ('0.fn.', '1.', '3.')

_STEM = 'backbone.stem.'
_HEAD = 'head.fc.'


def _stage(block: int, rest: str) -> str:
    return f'backbone.stages.{block}.{rest}'


def _splitmixer_key(key: str) -> str:
    """The mmpretrain name of one key of the ``splitmixer`` layout.

    Raises:
        KeyError: When ``key`` is not part of the layout.
    """
    if key.startswith(('patch_emb.0.', 'patch_emb.2.')):
        return _STEM + key[len('patch_emb.'):]
    if key in ('head.weight', 'head.bias'):
        return _HEAD + key[len('head.'):]
    match = _SPLITMIXER_BLOCK.match(key)
    if match:
        index, rest = int(match.group(1)), match.group(2)
        block = index // 2
        if index % 2 == 0 and rest.startswith('fn.'):
            return _stage(block, f'0.{rest}')
        if index % 2 == 1 and rest.startswith('0.'):
            return _stage(block, f'1.{rest[2:]}')
        if index % 2 == 1 and rest.startswith('2.'):
            return _stage(block, f'3.{rest[2:]}')
    raise KeyError(key)


def _stridemixer_key(key: str) -> str:
    """The mmpretrain name of one key of the ``stridemixer`` layout."""
    if key.startswith(('patch_emb.0.', 'patch_emb.2.')):
        return _STEM + key[len('patch_emb.'):]
    if key in ('head.2.weight', 'head.2.bias'):
        return _HEAD + key[len('head.2.'):]
    match = _STRIDE_SPATIAL.match(key)
    if match:
        return _stage(int(match.group(1)), f'0.{match.group(2)}')
    match = _STRIDE_CHANNEL.match(key)
    if match:
        block, index, rest = match.groups()
        if index == '0':  # the Conv3d, the backbone's Conv3dChannelMixer
            return _stage(int(block), f'1.mixer.{rest}')
        return _stage(int(block), f'3.{rest}')
    raise KeyError(key)


def _convmixer_key(key: str) -> str:
    """The mmpretrain name of one key of timm's ``convmixer`` layout."""
    if key.startswith(('stem.0.', 'stem.2.')):
        return _STEM + key[len('stem.'):]
    if key in ('head.weight', 'head.bias'):
        return _HEAD + key[len('head.'):]
    match = _CONVMIXER_BLOCK.match(key)
    if match:
        block, part, rest = match.groups()
        return _stage(int(block), part + rest)
    raise KeyError(key)


def _by_key(convert_key: Callable[[str], str]):
    """A layout converter from a converter of single keys."""

    def convert(keys: Iterable[str]) -> Tuple[Dict[str, str], List[str]]:
        names, unknown = OrderedDict(), []
        for key in keys:
            try:
                names[key] = convert_key(key)
            except KeyError:
                unknown.append(key)
        return names, unknown

    return convert


def _convert_sequential(
        keys: Iterable[str]) -> Tuple[Dict[str, str], List[str]]:
    """New names of the ``sequential`` layout, whose block and head indices
    follow from the depth: blocks from 3, the head 5 after the last block."""
    keys = list(keys)
    parsed = [(key, _SEQUENTIAL_KEY.match(key)) for key in keys]
    blocks = sorted({
        int(m.group(1))
        for _, m in parsed
        if m and int(m.group(1)) >= 3 and not _PARAM.match(m.group(2))
    })
    depth = len(blocks)
    head = 3 + depth + 2
    names, unknown = OrderedDict(), []
    for key, match in parsed:
        if not match:
            unknown.append(key)
            continue
        index, rest = int(match.group(1)), match.group(2)
        direct = bool(_PARAM.match(rest))
        if index in (0, 2) and direct:
            names[key] = f'{_STEM}{index}.{rest}'
        elif index == head and rest in ('weight', 'bias'):
            names[key] = _HEAD + rest
        elif 3 <= index < 3 + depth and not direct and rest.startswith(
                _BLOCK_PARTS):
            names[key] = _stage(index - 3, rest)
        else:
            # Also every key of a block beyond a gap in the block indices.
            unknown.append(key)
    return names, unknown


# name: (converter, what its keys look like), in order of preference.
LAYOUTS = OrderedDict(
    splitmixer=(_by_key(_splitmixer_key),
                'patch_emb.*, mixer_blocks.*, head.*'),
    stridemixer=(_by_key(_stridemixer_key),
                 'patch_emb.*, spatial_mixer.*, channel_mixer.*, head.2.*'),
    sequential=(_convert_sequential, '0.*, 2.*, {3+i}.*, {depth+5}.*'),
    convmixer=(_by_key(_convmixer_key), 'stem.*, blocks.*, head.*'),
)


def _show(keys: List[str]) -> str:
    return f'{keys[:10]}{" ..." if len(keys) > 10 else ""}'


def detect_layout(state_dict: Dict[str, torch.Tensor]) -> str:
    """The layout (a key of ``LAYOUTS``) that names every key of
    ``state_dict``.

    Raises:
        ValueError: When no layout names every key; the message lists the
            keys the closest layout does not know.
    """
    if not state_dict:
        raise ValueError('the checkpoint holds an empty state dict')
    results = {
        name: convert(state_dict)
        for name, (convert, _) in LAYOUTS.items()
    }
    best = max(results, key=lambda name: len(results[name][0]))
    names, unknown = results[best]
    if not names:
        layouts = '; '.join(f'{name} ({pattern})'
                            for name, (_, pattern) in LAYOUTS.items())
        raise ValueError(
            'the checkpoint matches none of the layouts of the original '
            f'SplitMixer code: {layouts}; its keys begin '
            f'{_show(list(state_dict))}')
    if unknown:
        raise ValueError(
            f'{len(unknown)} keys are not part of the original code\'s '
            f'layout {best!r} ({LAYOUTS[best][1]}), the closest to this '
            f'checkpoint: {_show(unknown)}')
    return best


def convert_original_state_dict(
        state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a state dict of the original code to mmpretrain names.

    The layout is detected from the keys (see :func:`detect_layout`);
    :func:`convert_with_layout` also returns it.

    Args:
        state_dict (dict[str, Tensor]): Parameters and buffers of the
            original model.

    Returns:
        OrderedDict[str, Tensor]: The same tensors under the names of an
        mmpretrain ``ImageClassifier`` with a SplitMixer or ConvMixer
        backbone.

    Raises:
        ValueError: When ``state_dict`` holds keys outside every layout of
            the original code, or none at all.
    """
    return convert_with_layout(state_dict)[1]


def convert_with_layout(
    state_dict: Dict[str,
                     torch.Tensor]) -> Tuple[str, Dict[str, torch.Tensor]]:
    """``(layout, converted state dict)``, see
    :func:`convert_original_state_dict`."""
    if state_dict and all(key.startswith('module.') for key in state_dict):
        state_dict = {key[len('module.'):]: v for key, v in state_dict.items()}
    layout = detect_layout(state_dict)
    names, _ = LAYOUTS[layout][0](state_dict)
    return layout, OrderedDict(
        (names[key], value) for key, value in state_dict.items())


def stride_mixer_kernel(
        state_dict: Dict[str, torch.Tensor]) -> Tuple[int, int]:
    """``(channel_kernel_size, channel_stride)`` of a converted StrideMixer,
    the backbone arguments its config needs.

    The Conv3d's weight holds the kernel and the number of filters; the
    windows tile the C channels, so there are ``C // filters`` of them and
    the stride follows.
    """
    weight = state_dict['backbone.stages.0.1.mixer.weight']
    channels = state_dict['backbone.stem.0.weight'].shape[0]
    filters, kernel = weight.shape[0], weight.shape[2]
    windows = channels // filters
    if windows == 1:
        return kernel, kernel
    return kernel, (channels - kernel) // (windows - 1)


def load_original_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read the state dict of a checkpoint of the original code
    weights-only (:func:`mmsplitmix.engine.read_checkpoint`), or with full
    unpickling where ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set.

    Raises:
        FileNotFoundError: When ``path`` does not exist.
        ValueError: When ``path`` is not a complete PyTorch checkpoint,
            holds objects that weights-only loading refuses, or has no dict
            of tensors at its top level or under ``state_dict``.
    """
    if full_unpickling_forced():
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint file not found: {path!r}')
        try:  # weights_only left unset: PyTorch's variable turns it off
            checkpoint = torch.load(path, map_location='cpu')
        except Exception as error:  # noqa: BLE001 - any reading failure
            raise ValueError(f'cannot read checkpoint {path!r}: '
                             f'{type(error).__name__}: {error}') from None
    else:
        try:
            checkpoint = read_checkpoint(path, mmap=False)
        except UnsafeCheckpointError as error:
            raise ValueError(f'{error} Or save only the model\'s '
                             'state_dict.') from None
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict) or not all(
            isinstance(key, str) and isinstance(value, torch.Tensor)
            for key, value in checkpoint.items()):
        raise ValueError(
            f'{path} is not a model checkpoint: expected a dict of tensors '
            'at its top level or under "state_dict"')
    return checkpoint


def check_destination(path: str) -> None:
    """Refuse, before the source is read, a destination that cannot be
    written."""
    folder = osp.dirname(osp.abspath(path))
    if osp.isdir(path):
        raise ValueError(
            f'destination {path!r} is a folder, expected a file path')
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'destination {path!r}: its folder {folder!r} does not exist')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f'destination {path!r}: its folder {folder!r} is not writable')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a checkpoint of the original SplitMixer code '
        '(its SplitMixer, StrideMixer, nn.Sequential notebook models or '
        'timm ConvMixer; the layout is detected) to an mmpretrain '
        'checkpoint')
    parser.add_argument('src', help='source checkpoint path')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_destination(args.dst)
    layout, state_dict = convert_with_layout(
        load_original_state_dict(args.src))
    converted = dict(
        meta=dict(converted_from=osp.basename(args.src), source_layout=layout),
        state_dict=state_dict)
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    # through a temporary file: an existing destination stays whole
    AtomicLocalBackend().put(buffer.getvalue(), args.dst)
    print(f'converted {len(state_dict)} tensors ({layout} layout): '
          f'{args.src} -> {args.dst}')
    if layout == 'stridemixer':
        kernel, stride = stride_mixer_kernel(state_dict)
        print('load it into a SplitMixer with mixer_setting=\'3D\', '
              f'channel_kernel_size={kernel}, channel_stride={stride}')


if __name__ == '__main__':
    try:
        main()
    except (OSError, ValueError) as error:  # CheckpointSaveError included
        sys.exit(f'error: {error}')
