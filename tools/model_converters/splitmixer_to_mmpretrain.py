"""Convert a checkpoint of the SplitMixer reference code (timm style) into
an mmpretrain ``ImageClassifier`` checkpoint.

The reference code names its layers::

    patch_emb.0                      stem conv
    patch_emb.2                      stem BatchNorm
    mixer_blocks.{2i}.fn.{0,2,3,5}   spatial mixing of block i (residual);
                                     fn.{0,2} without the spatial trick
    mixer_blocks.{2i+1}.0            channel mixer of block i (.mixer,
                                     .mixer.{j}, .mixer1/.mixer2, or a plain
                                     conv without the channel trick)
    mixer_blocks.{2i+1}.2            BatchNorm after the channel mixer
    head                             Linear classifier

and the converted checkpoint, for a config with the SplitMixer (or, for the
ConvMixer baseline, mmpretrain's ConvMixer) backbone, a GlobalAveragePooling
neck and a LinearClsHead::

    backbone.stem.{0,2}   backbone.stages.{i}.0.fn.*   backbone.stages.{i}.1*
    backbone.stages.{i}.3 head.fc

Every setting (I-V, 3D, either trick on or off) converts by renaming only.
The source may hold the state dict at its top level or under
``state_dict`` (a ``module.`` prefix from DataParallel is removed). It is
read with ``torch.load(weights_only=True)``, which runs no pickled code.

Example::

    python tools/model_converters/splitmixer_to_mmpretrain.py \\
        splitmixer_i_cifar10.pth splitmixer-i-256-8_1xb512_cifar10.pth
"""
import argparse
import os.path as osp
import pickle
import re
import sys
from collections import OrderedDict
from typing import Dict

import torch

_BLOCK = re.compile(r'^mixer_blocks\.(\d+)\.(.+)$')


def _convert_key(key: str) -> str:
    """The mmpretrain name of one reference-code parameter (or buffer).

    Raises:
        KeyError: When ``key`` is not part of the reference layout.
    """
    if key.startswith('patch_emb.0.') or key.startswith('patch_emb.2.'):
        return 'backbone.stem.' + key[len('patch_emb.'):]
    if key in ('head.weight', 'head.bias'):
        return 'head.fc.' + key[len('head.'):]
    match = _BLOCK.match(key)
    if match:
        index, rest = int(match.group(1)), match.group(2)
        block = index // 2
        if index % 2 == 0 and rest.startswith('fn.'):
            return f'backbone.stages.{block}.0.{rest}'
        if index % 2 == 1 and rest.startswith('0.'):
            return f'backbone.stages.{block}.1.{rest[2:]}'
        if index % 2 == 1 and rest.startswith('2.'):
            return f'backbone.stages.{block}.3.{rest[2:]}'
    raise KeyError(key)


def convert_seed_state_dict(
        state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a reference-code SplitMixer state dict to mmpretrain names.

    Args:
        state_dict (dict[str, Tensor]): Parameters and buffers of the
            reference model.

    Returns:
        OrderedDict[str, Tensor]: The same tensors under the names of an
        mmpretrain ``ImageClassifier`` with a SplitMixer or ConvMixer
        backbone.

    Raises:
        ValueError: When ``state_dict`` holds keys outside the reference
            layout, or none at all.
    """
    if not state_dict:
        raise ValueError('the checkpoint holds an empty state dict')
    if all(key.startswith('module.') for key in state_dict):
        state_dict = {key[len('module.'):]: v for key, v in state_dict.items()}
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        try:
            converted[_convert_key(key)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f'{len(unknown)} keys are not part of the SplitMixer reference '
            f'layout (patch_emb.*, mixer_blocks.*, head.*): '
            f'{unknown[:10]}{" ..." if len(unknown) > 10 else ""}')
    return converted


def load_seed_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read the state dict of a reference-code checkpoint, weights only.

    Raises:
        FileNotFoundError: When ``path`` does not exist.
        ValueError: When ``path`` is not a PyTorch checkpoint of tensors
            (at the top level or under ``state_dict``).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'source checkpoint not found: {path}')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        if 'global' not in str(error).lower():
            raise ValueError(f'{path} is not a PyTorch checkpoint (it cannot '
                             'be unpickled)') from None
        raise ValueError(
            f'{path} holds objects other than tensors and plain containers, '
            'which weights-only loading refuses; save only the model\'s '
            'state_dict') from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise ValueError(f'{path} is not a PyTorch checkpoint '
                         f'({error.__class__.__name__}: {error})') from None
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a SplitMixer checkpoint of the reference code '
        '(timm-style names) to an mmpretrain checkpoint')
    parser.add_argument('src', help='source checkpoint path')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state_dict = convert_seed_state_dict(load_seed_state_dict(args.src))
    dst_dir = osp.dirname(osp.abspath(args.dst))
    if not osp.isdir(dst_dir):
        raise FileNotFoundError(
            f'folder of the destination does not exist: {dst_dir}')
    torch.save(
        dict(
            meta=dict(converted_from=osp.basename(args.src)),
            state_dict=state_dict), args.dst)
    print(f'converted {len(state_dict)} tensors: {args.src} -> {args.dst}')


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
