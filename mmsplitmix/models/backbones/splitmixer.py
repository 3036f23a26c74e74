"""SplitMixer backbone: `SplitMixer: Fat Trimmed From MLP-like Models
<https://arxiv.org/abs/2207.10255>`_."""
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import build_activation_layer, build_norm_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.backbones.convmixer import Residual
from mmpretrain.registry import MODELS

from .channel_mixers import (MIXER_SETTINGS, Conv3dChannelMixer,
                             build_channel_mixer, partial_channels)
from .inplace_inference import inplace_inference_applies, run_inplace


def _depthwise_conv(channels: int, kernel_size: Tuple[int, int]) -> nn.Conv2d:
    """Depthwise conv that keeps the spatial size.

    Odd kernels use integer padding, which is markedly faster than
    ``padding='same'`` on CPU; even kernels fall back to ``'same'``.
    """
    if all(k % 2 == 1 for k in kernel_size):
        padding = tuple(k // 2 for k in kernel_size)
    else:
        padding = 'same'
    return nn.Conv2d(
        channels, channels, kernel_size, groups=channels, padding=padding)


def _call(layers: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layers(x)


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be an int, got {type(value).__name__} '
                        f'({value!r})')
    if value <= 0:
        raise ValueError(f'{name} must be a positive int, got {value}')


@MODELS.register_module()
class SplitMixer(BaseBackbone):
    """SplitMixer backbone.

    An isotropic ConvMixer-like network that trims two kinds of fat: spatial
    mixing uses two 1-D depthwise kernels (1 x k, then k x 1) instead of one
    k x k kernel, and channel mixing convolves channel segments instead of
    all channels at once. See `SplitMixer: Fat Trimmed From MLP-like Models
    <https://arxiv.org/abs/2207.10255>`_.

    With ``spatial_trick=False`` and ``channel_trick=False`` the network, and
    its state dict, are exactly mmpretrain's ``ConvMixer``.

    Args:
        arch (str | dict): The architecture. A key of
            ``SplitMixer.arch_settings`` or a dict with the keys:

            - embed_dims (int): Number of channels C.
            - depth (int): Number of blocks.
            - patch_size (int): Patch size (and stride) of the stem.
            - kernel_size (int): Kernel size k of the depthwise convs.

            Defaults to '256/8'.
        mixer_setting (str): How channels are mixed when
            ``channel_trick=True``:

            - 'I': block i mixes ``int(C * ratio)`` channels, the first ones
              in even blocks and the last ones in odd blocks.
            - 'II': block i mixes segment ``i mod num_segments`` only.
            - 'III': every segment, by one conv shared across segments.
            - 'IV': every segment, each by its own conv.
            - 'V': the first ``int(C * ratio)`` channels, then the last
              ``int(C * ratio)`` of that result.
            - '3D': a 3-D convolution sliding over the channel axis, with
              kernel ``channel_kernel_size`` and stride ``channel_stride``
              (both ``C // num_segments`` unless given).

            Defaults to 'I'.
        ratio (float): Fraction of the channels mixed in settings I and V.
            Defaults to 2/3.
        num_segments (int): Number of channel segments in settings II, III,
            IV and 3D. Defaults to 2.
        channel_kernel_size (int, optional): Setting 3D only: channel extent
            of the 3-D kernel. Give it together with ``channel_stride``; the
            windows must tile the channels and their number
            ``(C - channel_kernel_size) // channel_stride + 1`` must divide
            C. The original code's overlapping form is
            ``int(C * ratio)`` with stride ``C - int(C * ratio)``.
            Defaults to None, ``C // num_segments``.
        channel_stride (int, optional): Setting 3D only: channel stride of
            the 3-D kernel. Defaults to None, ``C // num_segments``.
        spatial_trick (bool): Use 1 x k and k x 1 depthwise convs instead of
            one k x k depthwise conv. Defaults to True.
        channel_trick (bool): Mix channel segments as ``mixer_setting`` says
            instead of one full 1 x 1 conv. Defaults to True.
        in_channels (int): Number of input image channels. Defaults to 3.
        norm_cfg (dict): Config of the norm layers.
            Defaults to ``dict(type='BN')``.
        act_cfg (dict): Config of the activations. Defaults to
            ``dict(type='GELU')``.
        out_indices (int | Sequence[int]): Blocks whose outputs are
            returned; negative indices count from the end. Defaults to -1,
            the last block.
        frozen_stages (int): Number of blocks to freeze, from the first;
            freezing any also freezes the stem. Frozen parts stay in eval
            mode. Defaults to 0.
        with_cp (bool): Use gradient checkpointing on every block, trading
            compute for memory. Defaults to False.
        inplace_inference (bool): Without autograd (``torch.no_grad()``,
            ``torch.inference_mode()``), apply the activations, the
            inference-mode BatchNorms and the residual additions in place,
            to the tensors the layers before them returned: the same
            function, without a new tensor per layer. A layer with forward
            hooks runs as a module. Defaults to True.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None, PyTorch's default initialization.

    Example:
        >>> import torch
        >>> from mmsplitmix.models import SplitMixer
        >>> model = SplitMixer(arch='256/8', mixer_setting='I').eval()
        >>> outs = model(torch.rand(1, 3, 32, 32))
        >>> outs[-1].shape
        torch.Size([1, 256, 16, 16])
    """
    arch_settings: Dict[str, Dict[str, int]] = {
        '256/8': dict(embed_dims=256, depth=8, patch_size=2, kernel_size=5),
        '768/32': dict(embed_dims=768, depth=32, patch_size=7, kernel_size=7),
        '1024/20':
        dict(embed_dims=1024, depth=20, patch_size=14, kernel_size=9),
        '1536/20':
        dict(embed_dims=1536, depth=20, patch_size=7, kernel_size=9),
    }
    arch_keys = ('embed_dims', 'depth', 'patch_size', 'kernel_size')

    def __init__(self,
                 arch: Union[str, dict] = '256/8',
                 mixer_setting: str = 'I',
                 ratio: float = 2 / 3,
                 num_segments: int = 2,
                 channel_kernel_size: Optional[int] = None,
                 channel_stride: Optional[int] = None,
                 spatial_trick: bool = True,
                 channel_trick: bool = True,
                 in_channels: int = 3,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = 0,
                 with_cp: bool = False,
                 inplace_inference: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        arch = self._parse_arch(arch)
        self.embed_dims = arch['embed_dims']
        self.depth = arch['depth']
        self.patch_size = arch['patch_size']
        self.kernel_size = arch['kernel_size']
        _check_positive_int('in_channels', in_channels)
        flags = dict(
            spatial_trick=spatial_trick,
            channel_trick=channel_trick,
            with_cp=with_cp,
            inplace_inference=inplace_inference)
        for name, flag in flags.items():
            if not isinstance(flag, bool):
                raise TypeError(
                    f'{name} must be a bool, got {type(flag).__name__}')
        self.mixer_setting = self._check_mixer_setting(mixer_setting)
        self.ratio = self._check_ratio(ratio, self.embed_dims)
        self.num_segments = self._check_num_segments(num_segments,
                                                     self.embed_dims)
        self.channel_kernel_size, self.channel_stride = self._check_3d_kernel(
            channel_kernel_size, channel_stride, self.embed_dims,
            self.mixer_setting if channel_trick else None, self.num_segments)
        self.spatial_trick = spatial_trick
        self.channel_trick = channel_trick
        self.out_indices = self._check_out_indices(out_indices, self.depth)
        if isinstance(frozen_stages,
                      bool) or not isinstance(frozen_stages, numbers.Integral):
            raise TypeError('frozen_stages must be an int, got '
                            f'{type(frozen_stages).__name__}')
        if not 0 <= frozen_stages <= self.depth:
            raise ValueError(f'frozen_stages must be in [0, {self.depth}] '
                             f'(the depth), got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.inplace_inference = inplace_inference

        dims = self.embed_dims
        self.stem = nn.Sequential(
            nn.Conv2d(
                in_channels,
                dims,
                kernel_size=self.patch_size,
                stride=self.patch_size), build_activation_layer(act_cfg),
            build_norm_layer(norm_cfg, dims)[1])
        self.stages = nn.Sequential(*[
            nn.Sequential(
                Residual(self._spatial_mixer(norm_cfg, act_cfg)),
                self._channel_mixer(i), build_activation_layer(act_cfg),
                build_norm_layer(norm_cfg, dims)[1]) for i in range(self.depth)
        ])
        self._freeze_stages()

    # ------------------------------------------------------------------
    # argument checks
    @classmethod
    def _parse_arch(cls, arch) -> Dict[str, int]:
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise ValueError(
                    f'unknown arch {arch!r}; choose one of '
                    f'{sorted(cls.arch_settings)} or pass a dict with the '
                    f'keys {list(cls.arch_keys)}')
            arch = cls.arch_settings[arch]
        elif isinstance(arch, dict):
            missing = [key for key in cls.arch_keys if key not in arch]
            if missing:
                raise ValueError(f'arch dict is missing the keys {missing}; '
                                 f'it needs {list(cls.arch_keys)}')
            unknown = [key for key in arch if key not in cls.arch_keys]
            if unknown:
                raise ValueError(f'arch dict has unknown keys {unknown} (a '
                                 'misspelt key would be ignored); it takes '
                                 f'{list(cls.arch_keys)}')
        else:
            raise TypeError('arch must be a str or a dict, got '
                            f'{type(arch).__name__}')
        for key in cls.arch_keys:
            _check_positive_int(f'arch[{key!r}]', arch[key])
        return {key: int(arch[key]) for key in cls.arch_keys}

    @staticmethod
    def _check_mixer_setting(setting) -> str:
        if not isinstance(setting, str):
            raise TypeError('mixer_setting must be a str, one of '
                            f'{list(MIXER_SETTINGS)}, got '
                            f'{type(setting).__name__}')
        if setting.upper() not in MIXER_SETTINGS:
            raise ValueError(f'unknown mixer_setting {setting!r}; choose one '
                             f'of {list(MIXER_SETTINGS)}')
        return setting.upper()

    @staticmethod
    def _check_ratio(ratio, channels: int) -> float:
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
            raise TypeError(
                f'ratio must be a float in (0, 1), got {type(ratio).__name__}')
        if not 0 < ratio < 1:
            raise ValueError(f'ratio must be in (0, 1), got {ratio}')
        if partial_channels(channels, ratio) < 1:
            raise ValueError(
                f'ratio {ratio} leaves no channels to mix: '
                f'int({channels} * {ratio}) is 0; use a larger ratio')
        return float(ratio)

    @staticmethod
    def _check_num_segments(num_segments, channels: int) -> int:
        if isinstance(num_segments,
                      bool) or not isinstance(num_segments, numbers.Integral):
            raise TypeError('num_segments must be an int, got '
                            f'{type(num_segments).__name__}')
        if not 2 <= num_segments <= channels:
            raise ValueError(
                f'num_segments must be in [2, {channels}] (the number of '
                f'channels), got {num_segments}')
        return int(num_segments)

    @staticmethod
    def _check_3d_kernel(kernel_size, stride, channels: int, setting,
                         num_segments: int) -> Tuple[Optional[int], ...]:
        """The channel kernel and stride of setting 3D, or ``(None, None)``
        for the other settings (``setting`` is None without the channel
        trick)."""
        given = [(name, value)
                 for name, value in (('channel_kernel_size', kernel_size),
                                     ('channel_stride', stride))
                 if value is not None]
        if setting != '3D':
            if given:
                used = ('channel_trick=False'
                        if setting is None else f'mixer_setting={setting!r}')
                raise ValueError(
                    f'{given[0][0]} applies to mixer_setting=\'3D\' with '
                    f'channel_trick=True only, got {used}')
            return None, None
        for name, value in given:
            _check_positive_int(name, value)
        return Conv3dChannelMixer.resolve_kernel(
            channels, num_segments,
            *(None if value is None else int(value)
              for value in (kernel_size, stride)))

    @staticmethod
    def _check_out_indices(out_indices, depth: int) -> Tuple[int, ...]:
        if isinstance(out_indices,
                      numbers.Integral) and not isinstance(out_indices, bool):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence) or isinstance(
                out_indices, str):
            raise TypeError('out_indices must be an int or a sequence of '
                            f'ints, got {type(out_indices).__name__}')
        normalized = []
        for index in out_indices:
            if isinstance(index,
                          bool) or not isinstance(index, numbers.Integral):
                raise TypeError('out_indices must hold ints, got '
                                f'{type(index).__name__}')
            if not -depth <= index < depth:
                raise ValueError(
                    f'out_indices {index} is out of range for depth {depth}: '
                    f'expected an index in [{-depth}, {depth - 1}]')
            normalized.append(int(index) % depth)
        if not normalized:
            raise ValueError('out_indices must name at least one block')
        return tuple(normalized)

    # ------------------------------------------------------------------
    # layers
    def _spatial_mixer(self, norm_cfg: dict, act_cfg: dict) -> nn.Sequential:
        dims, k = self.embed_dims, self.kernel_size
        if not self.spatial_trick:
            return nn.Sequential(
                _depthwise_conv(dims, (k, k)), build_activation_layer(act_cfg),
                build_norm_layer(norm_cfg, dims)[1])
        return nn.Sequential(
            _depthwise_conv(dims, (1, k)), build_activation_layer(act_cfg),
            build_norm_layer(norm_cfg, dims)[1], _depthwise_conv(dims, (k, 1)),
            build_activation_layer(act_cfg),
            build_norm_layer(norm_cfg, dims)[1])

    def _channel_mixer(self, block_index: int) -> nn.Module:
        if not self.channel_trick:
            return nn.Conv2d(self.embed_dims, self.embed_dims, kernel_size=1)
        return build_channel_mixer(self.mixer_setting, self.embed_dims,
                                   self.ratio, self.num_segments, block_index,
                                   self.channel_kernel_size,
                                   self.channel_stride)

    # ------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        inplace = self.inplace_inference and inplace_inference_applies()
        run = run_inplace if inplace else _call
        x = run(self.stem, x)
        outs = []
        for i, stage in enumerate(self.stages):
            if self.with_cp and self.training and x.requires_grad:
                x = cp.checkpoint(stage, x, use_reentrant=False)
            else:
                x = run(stage, x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'SplitMixer':
        super().train(mode)
        self._freeze_stages()
        return self

    def _freeze_stages(self) -> None:
        if self.frozen_stages == 0:
            return
        frozen = [self.stem] + list(self.stages[:self.frozen_stages])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False


__all__ = ['SplitMixer', 'MIXER_SETTINGS']
