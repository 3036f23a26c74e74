"""Channel mixers of SplitMixer: 1x1 convolutions over channel segments.

Every mixer maps a ``(N, C, H, W)`` tensor to a tensor of the same shape.
Channels that a mixer does not touch pass through unchanged. The parameter
names (``mixer``, ``mixer.{j}``, ``mixer1``/``mixer2``) follow the layout of
the original code, so that its checkpoints convert by renaming
module prefixes only.

Each setting is one class: it declares its name (``setting``), checks its own
arguments and builds itself from the backbone's arguments
(:meth:`BaseChannelMixer.from_backbone_args`). :data:`CHANNEL_MIXERS` maps
the names to the classes, and :data:`MIXER_SETTINGS` lists them.
"""
from abc import ABCMeta, abstractmethod
from typing import List, Optional, Tuple, Type

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import Registry

#: The channel mixer class of each setting, under the setting's name. Its
#: location is this module, which registers every setting.
CHANNEL_MIXERS = Registry(
    'channel mixer', scope='mmsplitmix', locations=[__name__])


def partial_channels(channels: int, ratio: float) -> int:
    """Number of channels a partial mixer (settings I and V) convolves.

    The original code floors ``channels * ratio``.
    """
    return int(channels * ratio)


def segment_bounds(channels: int, num_segments: int) -> List[int]:
    """Boundaries of ``num_segments`` consecutive channel segments.

    Every segment has ``channels // num_segments`` channels except the last,
    which runs to ``channels`` and so takes the remainder.
    """
    width = channels // num_segments
    return [i * width for i in range(num_segments)] + [channels]


def nhwc_view(x: torch.Tensor) -> Optional[torch.Tensor]:
    """The ``(N, H, W, C)`` view of a 4-D tensor stored channels-last, or
    None for any other tensor."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(
            memory_format=torch.channels_last):
        return x.permute(0, 2, 3, 1)
    return None


def _pointwise(conv: nn.Conv2d, x: torch.Tensor, dim: int) -> torch.Tensor:
    """Apply the 1 x 1 ``conv`` to ``x`` whose channels lie along ``dim``:
    1 (NCHW) or -1 (an NHWC view, convolved as a channels-last tensor; a
    channel range that is not dense is copied first, which costs less than
    a matrix product on the strided rows)."""
    if dim == 1:
        return conv(x)
    x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    return conv(x).permute(0, 2, 3, 1)


def _check_divisible(setting: str, channels: int, num_segments: int) -> None:
    if channels % num_segments != 0:
        raise ValueError(
            f'mixer_setting {setting!r} needs the number of channels '
            f'(embed_dims, {channels}) divisible by num_segments '
            f'({num_segments})')


def _register(setting: str):
    """Register a mixer class as the one of ``setting``."""

    def register(cls: type) -> type:
        cls.setting = setting
        return CHANNEL_MIXERS.register_module(name=setting, module=cls)

    return register


class BaseChannelMixer(nn.Module, metaclass=ABCMeta):
    """Base of the channel mixers of the settings.

    Attributes:
        setting (str): Name of the setting, set by the registration.
    """
    setting: str = ''

    @classmethod
    @abstractmethod
    def from_backbone_args(cls, channels: int, block_index: int, ratio: float,
                           num_segments: int, kernel_size: Optional[int],
                           stride: Optional[int]) -> 'BaseChannelMixer':
        """The mixer of block ``block_index`` from the arguments of the
        backbone (see :class:`SplitMixer`); each setting takes what it
        uses."""


class _ChannelMixer(BaseChannelMixer):
    """Base of the slicing mixers: runs :meth:`mix` on the channels of the
    input.

    A channels-last input is mixed through its NHWC view, where channel
    ranges are column blocks of one matrix, and the output stays
    channels-last. Other inputs are mixed along dim 1.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nhwc = nhwc_view(x)
        if nhwc is None:
            return self.mix(x, 1)
        return self.mix(nhwc, -1).permute(0, 3, 1, 2)

    @abstractmethod
    def mix(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """Mix the channels of ``x``, which lie along ``dim``."""


def _mix_range(x: torch.Tensor, conv: nn.Conv2d, start: int, end: int,
               dim: int) -> torch.Tensor:
    """Apply ``conv`` to channels ``[start, end)`` along ``dim``, pass the
    others.

    The input is cut with one ``split`` rather than several slices: its
    backward is a single concatenation of the gradients, where slices would
    each allocate, zero-fill and add a full-size gradient.
    """
    channels = x.size(dim)
    before, middle, after = x.split([start, end - start, channels - end],
                                    dim=dim)
    parts = [before, _pointwise(conv, middle, dim), after]
    parts = [part for part in parts if part.size(dim) > 0]
    return torch.cat(parts, dim=dim) if len(parts) > 1 else parts[0]


@_register('I')
class PartialChannelMixer(_ChannelMixer):
    """Setting I: one conv over a fraction of the channels.

    Even blocks mix the first ``int(C * ratio)`` channels, odd blocks the
    last ones, so that consecutive blocks overlap in the middle.

    Args:
        channels (int): Number of channels C.
        ratio (float): Fraction of the channels to mix.
        block_index (int): Index of the block, which picks the side.
    """

    def __init__(self, channels: int, ratio: float, block_index: int):
        super().__init__()
        self.channels = channels
        self.mixed_channels = partial_channels(channels, ratio)
        if block_index % 2 == 0:
            self.start = 0
        else:
            self.start = channels - self.mixed_channels
        self.end = self.start + self.mixed_channels
        self.mixer = nn.Conv2d(
            self.mixed_channels, self.mixed_channels, kernel_size=1)

    @classmethod
    def from_backbone_args(cls, channels, block_index, ratio, num_segments,
                           kernel_size, stride):
        return cls(channels, ratio, block_index)

    def mix(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        return _mix_range(x, self.mixer, self.start, self.end, dim)


@_register('II')
class SingleSegmentChannelMixer(_ChannelMixer):
    """Setting II: one of ``num_segments`` segments is mixed per block.

    Block i mixes segment ``i mod num_segments``; segments have
    ``int(C / num_segments)`` channels and the last one runs to C.

    Args:
        channels (int): Number of channels C.
        num_segments (int): Number of segments.
        block_index (int): Index of the block, which picks the segment.
    """

    def __init__(self, channels: int, num_segments: int, block_index: int):
        super().__init__()
        bounds = segment_bounds(channels, num_segments)
        segment = block_index % num_segments
        self.start, self.end = bounds[segment], bounds[segment + 1]
        width = self.end - self.start
        self.mixer = nn.Conv2d(width, width, kernel_size=1)

    @classmethod
    def from_backbone_args(cls, channels, block_index, ratio, num_segments,
                           kernel_size, stride):
        return cls(channels, num_segments, block_index)

    def mix(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        return _mix_range(x, self.mixer, self.start, self.end, dim)


@_register('III')
class SharedSegmentChannelMixer(_ChannelMixer):
    """Setting III: every segment is mixed by one shared conv.

    The segments are folded into the batch axis (into the rows of the
    matrix product, for a channels-last input), so all of them go through a
    single convolution call and no concatenation is needed.

    Args:
        channels (int): Number of channels C, divisible by ``num_segments``.
        num_segments (int): Number of segments.
    """

    def __init__(self, channels: int, num_segments: int):
        super().__init__()
        _check_divisible(self.setting, channels, num_segments)
        self.num_segments = num_segments
        self.width = channels // num_segments
        self.mixer = nn.Conv2d(self.width, self.width, kernel_size=1)

    @classmethod
    def from_backbone_args(cls, channels, block_index, ratio, num_segments,
                           kernel_size, stride):
        return cls(channels, num_segments)

    def mix(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        if dim == -1:
            # every pixel's segments become pixels of a wider image
            n, h, w, c = x.shape
            segments = x.reshape(n, h, w * self.num_segments, self.width)
            return _pointwise(self.mixer, segments, dim).reshape(n, h, w, c)
        n, c, h, w = x.shape
        out = self.mixer(x.reshape(n * self.num_segments, self.width, h, w))
        return out.reshape(n, c, h, w)


@_register('IV')
class IndependentSegmentChannelMixer(_ChannelMixer):
    """Setting IV: every segment is mixed by its own conv.

    Segments have ``C // num_segments`` channels, the last one takes the
    remainder. When all segments are equal, the convs run as one grouped
    convolution.

    Args:
        channels (int): Number of channels C.
        num_segments (int): Number of segments.
    """

    def __init__(self, channels: int, num_segments: int):
        super().__init__()
        self.bounds = segment_bounds(channels, num_segments)
        self.widths = [
            end - start for start, end in zip(self.bounds, self.bounds[1:])
        ]
        self.num_segments = num_segments
        self.equal_segments = len(set(self.widths)) == 1
        self.mixer = nn.ModuleList(
            nn.Conv2d(width, width, kernel_size=1) for width in self.widths)

    @classmethod
    def from_backbone_args(cls, channels, block_index, ratio, num_segments,
                           kernel_size, stride):
        return cls(channels, num_segments)

    def mix(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        if self.equal_segments:  # one grouped convolution
            weight = torch.cat([conv.weight for conv in self.mixer])
            bias = torch.cat([conv.bias for conv in self.mixer])
            if dim == 1:
                return F.conv2d(x, weight, bias, groups=self.num_segments)
            # the NHWC view is a dense channels-last tensor
            return F.conv2d(
                x.permute(0, 3, 1, 2), weight, bias,
                groups=self.num_segments).permute(0, 2, 3, 1)
        segments = x.split(self.widths, dim=dim)
        return torch.cat([
            _pointwise(conv, segment, dim)
            for conv, segment in zip(self.mixer, segments)
        ],
                         dim=dim)


@_register('V')
class TwoPassChannelMixer(_ChannelMixer):
    """Setting V: ``mixer1`` on the first ``int(C * ratio)`` channels, then
    ``mixer2`` on the last ``int(C * ratio)`` channels of that result.

    Args:
        channels (int): Number of channels C.
        ratio (float): Fraction of the channels each pass mixes.
    """

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.channels = channels
        self.mixed_channels = partial_channels(channels, ratio)
        self.mixer1 = nn.Conv2d(
            self.mixed_channels, self.mixed_channels, kernel_size=1)
        self.mixer2 = nn.Conv2d(
            self.mixed_channels, self.mixed_channels, kernel_size=1)

    @classmethod
    def from_backbone_args(cls, channels, block_index, ratio, num_segments,
                           kernel_size, stride):
        return cls(channels, ratio)

    def mix(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        mixed, channels = self.mixed_channels, self.channels
        if 2 * mixed <= channels:
            # The passes do not overlap: both read the input.
            first, middle, last = x.split([mixed, channels - 2 * mixed, mixed],
                                          dim=dim)
            parts = [
                _pointwise(self.mixer1, first, dim), middle,
                _pointwise(self.mixer2, last, dim)
            ]
            return torch.cat([p for p in parts if p.size(dim) > 0], dim=dim)
        # The passes overlap. The second reads the overlapping end of the
        # first pass's output and the untouched rest of the input; the
        # intermediate full-width tensor is never built.
        first, rest = x.split([mixed, channels - mixed], dim=dim)
        kept, overlap = _pointwise(self.mixer1, first, dim).split(
            [channels - mixed, 2 * mixed - channels], dim=dim)
        second = _pointwise(self.mixer2, torch.cat([overlap, rest], dim=dim),
                            dim)
        return torch.cat([kept, second], dim=dim)


@_register('3D')
class Conv3dChannelMixer(BaseChannelMixer):
    """3-D convolution channel mixing.

    The channels are treated as a depth axis: a ``Conv3d`` with one input
    channel, kernel ``(kernel_size, 1, 1)`` and stride ``(stride, 1, 1)``
    slides over them. It visits ``P = (C - kernel_size) // stride + 1``
    windows, and ``C // P`` filters (one shared set for all windows) each
    produce one value per window; the ``(C // P) * P = C`` results are the
    output channels, ordered filter-major (filter ``f`` of window ``p`` is
    channel ``f * P + p``).

    Two forms of the original code's ``StrideMixer``:

    - non-overlapping (its setting III): ``kernel_size = stride =
      C // num_segments``, the default here;
    - overlapping (its other settings): ``kernel_size = int(C * ratio)``,
      ``stride = C - kernel_size``, two windows sharing the middle channels.

    Args:
        channels (int): Number of channels C.
        num_segments (int): Number of windows of the default, non-overlapping
            form; ignored when ``kernel_size`` and ``stride`` are given.
        kernel_size (int, optional): Channel extent of the kernel.
        stride (int, optional): Channel stride of the kernel.
    """

    def __init__(self,
                 channels: int,
                 num_segments: int = 2,
                 kernel_size: Optional[int] = None,
                 stride: Optional[int] = None):
        super().__init__()
        kernel_size, stride = self.resolve_kernel(channels, num_segments,
                                                  kernel_size, stride)
        filters, self.windows = self.geometry(channels, kernel_size, stride)
        self.kernel_size, self.stride = kernel_size, stride
        self.mixer = nn.Conv3d(
            1, filters, kernel_size=(kernel_size, 1, 1), stride=(stride, 1, 1))

    @classmethod
    def from_backbone_args(cls, channels, block_index, ratio, num_segments,
                           kernel_size, stride):
        return cls(channels, num_segments, kernel_size, stride)

    @classmethod
    def resolve_kernel(cls,
                       channels: int,
                       num_segments: int,
                       kernel_size: Optional[int] = None,
                       stride: Optional[int] = None) -> Tuple[int, int]:
        """``(kernel_size, stride)``: the given pair, checked, or
        ``C // num_segments`` for both (the non-overlapping form) when
        neither is given.

        Raises:
            ValueError: When only one is given, when ``num_segments`` does
                not divide C in the default form, or when the pair does not
                give C outputs (see :meth:`geometry`).
        """
        if (kernel_size is None) != (stride is None):
            given, missing = ('channel_kernel_size', 'channel_stride')
            if kernel_size is None:
                given, missing = missing, given
            raise ValueError(f'{given} needs {missing} as well')
        if kernel_size is None:
            _check_divisible(cls.setting, channels, num_segments)
            width = channels // num_segments
            return width, width
        cls.geometry(channels, kernel_size, stride)
        return kernel_size, stride

    @staticmethod
    def geometry(channels: int, kernel_size: int,
                 stride: int) -> Tuple[int, int]:
        """``(filters, windows)`` of a channel kernel and stride.

        The windows must tile the channels exactly (the last window ends at
        the last channel) and their number must divide C, so that the output
        has C channels again.

        Raises:
            ValueError: When the kernel and stride do not give C outputs.
        """
        if not 1 <= kernel_size <= channels:
            raise ValueError(
                f'channel_kernel_size must be in [1, {channels}] (the '
                f'number of channels), got {kernel_size}')
        if stride < 1:
            raise ValueError(f'channel_stride must be positive, got {stride}')
        if (channels - kernel_size) % stride != 0:
            raise ValueError(
                f'channel_kernel_size {kernel_size} and channel_stride '
                f'{stride} leave channels uncovered: (C - kernel) = '
                f'{channels - kernel_size} must be a multiple of the stride')
        windows = (channels - kernel_size) // stride + 1
        if channels % windows != 0:
            raise ValueError(
                f'channel_kernel_size {kernel_size} and channel_stride '
                f'{stride} give {windows} windows, which do not divide the '
                f'{channels} channels: the output would not have '
                f'{channels} channels')
        return channels // windows, windows

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.mixer(x.unsqueeze(1)).flatten(1, 2)
        if nhwc_view(x) is not None:
            # keep the layout of the rest of the network
            out = out.contiguous(memory_format=torch.channels_last)
        return out


#: Names of the settings, in the paper's order (then 3-D channel mixing).
MIXER_SETTINGS: Tuple[str, ...] = tuple(CHANNEL_MIXERS.module_dict)


def channel_mixer_class(setting: str) -> Type[BaseChannelMixer]:
    """The mixer class of ``setting`` (one of :data:`MIXER_SETTINGS`)."""
    cls = CHANNEL_MIXERS.get(setting) if isinstance(setting, str) else None
    if cls is None:
        raise ValueError(f'unknown channel mixer setting {setting!r}; choose '
                         f'one of {list(MIXER_SETTINGS)}')
    return cls


def build_channel_mixer(setting: str,
                        channels: int,
                        ratio: float,
                        num_segments: int,
                        block_index: int,
                        channel_kernel_size: Optional[int] = None,
                        channel_stride: Optional[int] = None) -> nn.Module:
    """Build the channel mixer of block ``block_index`` for ``setting``.

    ``channel_kernel_size`` and ``channel_stride`` are used by setting 3D
    only (see :class:`Conv3dChannelMixer`).
    """
    return channel_mixer_class(setting).from_backbone_args(
        channels, block_index, ratio, num_segments, channel_kernel_size,
        channel_stride)
