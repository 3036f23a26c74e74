"""Mixed precision where an accelerator exists, full precision elsewhere."""
import warnings
from typing import Optional

import torch.nn as nn
from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.optim import (AmpOptimWrapper, DefaultOptimWrapperConstructor,
                            OptimWrapper)
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS

# Arguments that only AmpOptimWrapper takes.
AMP_ONLY_ARGS = ('loss_scale', 'dtype', 'use_fsdp')

_warned = False


def amp_device_available() -> bool:
    """Whether a device that mmengine's AmpOptimWrapper accepts is present
    (CUDA, NPU, MLU or MUSA)."""
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _is_amp_wrapper(wrapper_type) -> bool:
    if isinstance(wrapper_type, str):
        wrapper_type = OPTIM_WRAPPERS.get(wrapper_type)
    return isinstance(wrapper_type, type) and issubclass(
        wrapper_type, AmpOptimWrapper)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class AmpFallbackOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Build the configured optimizer wrapper, trading mixed precision for
    full precision on a machine without an accelerator.

    mmengine's :class:`~mmengine.optim.AmpOptimWrapper` refuses to be built
    without a CUDA (or NPU, MLU, MUSA) device. With this constructor a config
    can ask for ``type='AmpOptimWrapper'`` (the paper trains with mixed
    precision) and still train on a CPU-only machine: there, a plain
    :class:`~mmengine.optim.OptimWrapper` is built with the same optimizer,
    gradient clipping and accumulation, the AMP-only arguments
    (``loss_scale``, ``dtype``, ``use_fsdp``) are dropped, and a warning says
    so once per process. Any other wrapper type is built unchanged.

    Args:
        optim_wrapper_cfg (dict): The config of the optimizer wrapper, as for
            :class:`~mmengine.optim.DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict, optional): Parameter-wise options, as for
            :class:`~mmengine.optim.DefaultOptimWrapperConstructor`.

    Example:
        >>> optim_wrapper = dict(
        ...     constructor='AmpFallbackOptimWrapperConstructor',
        ...     type='AmpOptimWrapper',
        ...     optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.005),
        ...     clip_grad=dict(max_norm=1.0))
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self.requested_amp = _is_amp_wrapper(
            self.optim_wrapper_cfg.get('type', 'OptimWrapper'))

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if not self.requested_amp or amp_device_available():
            return super().__call__(model)
        global _warned
        if not _warned:
            warnings.warn(
                'AmpOptimWrapper was requested but no CUDA, NPU, MLU or MUSA '
                'device is available: training in full precision (fp32) with '
                'a plain OptimWrapper instead.',
                UserWarning,
                stacklevel=2)
            _warned = True
        saved_cfg = self.optim_wrapper_cfg
        fp32_cfg = {
            key: value
            for key, value in saved_cfg.items() if key not in AMP_ONLY_ARGS
        }
        fp32_cfg['type'] = 'OptimWrapper'
        self.optim_wrapper_cfg = fp32_cfg
        try:
            return super().__call__(model)
        finally:
            self.optim_wrapper_cfg = saved_cfg
