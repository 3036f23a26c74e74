"""The straightforward formulation of SplitMixer's channel mixers.

Every mixer here slices its channel segments, applies a 1 x 1 conv to each
and concatenates the results, the way the method is usually written down.
:func:`to_reference_model` swaps them into a copy of a model, sharing the
original convolutions, and runs every layer of the copy as a module also
without autograd (``inplace_inference=False``), so the copy computes the
same function with the same weights, written down plainly. It is the
baseline that the benchmark compares SplitMixer's speed paths against: the
optimised mixers of :mod:`mmsplitmix.models.backbones.channel_mixers` and,
in inference, the in-place layers of
:mod:`mmsplitmix.models.backbones.inplace_inference`.
"""
import copy
from typing import List, Sequence

import torch
import torch.nn as nn

from mmsplitmix.models import SplitMixer
from mmsplitmix.models.backbones.channel_mixers import BaseChannelMixer


def _slice_conv_cat(x: torch.Tensor, conv: nn.Module, start: int,
                    end: int) -> torch.Tensor:
    """Convolve channels ``[start, end)``, concatenate the untouched ones."""
    parts = [conv(x[:, start:end])]
    if start > 0:
        parts.insert(0, x[:, :start])
    if end < x.size(1):
        parts.append(x[:, end:])
    return torch.cat(parts, dim=1)


class ReferenceRangeMixer(nn.Module):
    """One conv over one channel range (settings I and II).

    Args:
        mixer (nn.Conv2d): The 1 x 1 conv, shared with the optimised mixer.
        start (int): First mixed channel.
        end (int): One past the last mixed channel.
    """

    def __init__(self, mixer: nn.Conv2d, start: int, end: int):
        super().__init__()
        self.mixer = mixer
        self.start = start
        self.end = end

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _slice_conv_cat(x, self.mixer, self.start, self.end)


class ReferenceSegmentMixer(nn.Module):
    """Every segment convolved on its own, results concatenated (settings
    III and IV).

    Args:
        mixer (nn.Conv2d | nn.ModuleList): One conv shared by all segments
            (setting III) or one conv per segment (setting IV).
        bounds (Sequence[int]): Segment boundaries, from 0 to C.
    """

    def __init__(self, mixer: nn.Module, bounds: Sequence[int]):
        super().__init__()
        self.mixer = mixer
        self.bounds: List[int] = list(bounds)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        segments = zip(self.bounds, self.bounds[1:])
        if isinstance(self.mixer, nn.ModuleList):
            outs = [
                conv(x[:, start:end])
                for conv, (start, end) in zip(self.mixer, segments)
            ]
        else:
            outs = [self.mixer(x[:, start:end]) for start, end in segments]
        return torch.cat(outs, dim=1)


class ReferenceTwoPassMixer(nn.Module):
    """``mixer1`` on the first channels, then ``mixer2`` on the last ones of
    that result (setting V).

    Args:
        mixer1 (nn.Conv2d): The first 1 x 1 conv.
        mixer2 (nn.Conv2d): The second 1 x 1 conv.
        channels (int): Number of channels C.
    """

    def __init__(self, mixer1: nn.Conv2d, mixer2: nn.Conv2d, channels: int):
        super().__init__()
        self.mixer1 = mixer1
        self.mixer2 = mixer2
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        width = self.mixer1.in_channels
        x = _slice_conv_cat(x, self.mixer1, 0, width)
        return _slice_conv_cat(x, self.mixer2, self.channels - width,
                               self.channels)


def _range_form(mixer: nn.Module) -> nn.Module:
    return ReferenceRangeMixer(mixer.mixer, mixer.start, mixer.end)


#: How to write each setting's mixer in the straightforward formulation.
_REFERENCE_FORMS = {
    'I':
    _range_form,
    'II':
    _range_form,
    'III':
    lambda mixer: ReferenceSegmentMixer(
        mixer.mixer, range(0, mixer.width * mixer.num_segments + 1, mixer.width
                           )),
    'IV':
    lambda mixer: ReferenceSegmentMixer(mixer.mixer, mixer.bounds),
    'V':
    lambda mixer: ReferenceTwoPassMixer(mixer.mixer1, mixer.mixer2, mixer.
                                        channels),
}


def _has_reference_form(module: nn.Module) -> bool:
    return isinstance(module, BaseChannelMixer) and (module.setting
                                                     in _REFERENCE_FORMS)


def reference_mixer(mixer: nn.Module) -> nn.Module:
    """The straightforward counterpart of an optimised channel mixer.

    The returned module holds the same conv modules (and so the same
    parameters, under the same names) as ``mixer``.

    Args:
        mixer (nn.Module): A mixer of settings I, II, III, IV or V.

    Returns:
        nn.Module: A mixer computing the same function by slicing,
        convolving and concatenating.
    """
    if not _has_reference_form(mixer):
        raise TypeError(
            'no reference formulation for channel mixer of type '
            f'{type(mixer).__name__}; expected the mixer of one of the '
            f'settings {list(_REFERENCE_FORMS)}')
    return _REFERENCE_FORMS[mixer.setting](mixer)


def has_reference(model: nn.Module) -> bool:
    """Whether ``model`` holds channel mixers of settings I-V, which have a
    straightforward counterpart (see :func:`to_reference_model`)."""
    return any(_has_reference_form(m) for m in model.modules())


def to_layer_by_layer_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose SplitMixers run every layer as a module
    also without autograd (``inplace_inference=False``); its channel
    mixers stay as they are.

    Args:
        model (nn.Module): A model holding a SplitMixer.

    Returns:
        nn.Module: The copy, with the same parameters and outputs.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f'model must be an nn.Module, got {type(model).__name__}')
    copied = copy.deepcopy(model)
    backbones = [m for m in copied.modules() if isinstance(m, SplitMixer)]
    if not backbones:
        raise ValueError(f'{type(model).__name__} holds no SplitMixer')
    for backbone in backbones:
        backbone.inplace_inference = False
    return copied


def to_reference_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose channel mixers use the straightforward
    formulation and whose SplitMixers run every layer as a module.

    The copy has its own parameters, equal to the original's, under the same
    state-dict keys, so it gives the same outputs. Models without any
    SplitMixer channel mixer (ConvMixer, settings 3D and 'off') are refused,
    because they have no straightforward counterpart to compare.

    Args:
        model (nn.Module): A model holding SplitMixer channel mixers.

    Returns:
        nn.Module: The reference copy.
    """
    reference = to_layer_by_layer_model(model)
    replaced = 0
    for parent in list(reference.modules()):
        for name, child in list(parent.named_children()):
            if _has_reference_form(child):
                setattr(parent, name, reference_mixer(child))
                replaced += 1
    if replaced == 0:
        raise ValueError(
            f'{type(model).__name__} holds no SplitMixer channel mixer of '
            'settings I-V, so it has no reference formulation')
    return reference
