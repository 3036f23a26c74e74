"""Parameter and FLOP counts with the convention of the SplitMixer paper.

FLOPs are multiply-accumulates of every convolution and linear layer, plus 2
per element for BatchNorm and for GELU and 1 per element for average pooling.
The counting is mmengine's :class:`~mmengine.analysis.FlopAnalyzer` with two
handles it lacks: convolutions with ``padding='same'`` (traced as
``aten::_convolution_mode``) and GELU.
"""
from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import (conv_flop_count,
                                           elementwise_flop_counter, get_shape)


def _convolution_mode_flop(inputs, outputs) -> int:
    """MACs of ``aten::_convolution_mode`` (a conv with a string padding)."""
    return conv_flop_count(
        get_shape(inputs[0]), get_shape(inputs[1]), get_shape(outputs[0]))


PAPER_OP_HANDLES = {
    'aten::_convolution_mode': _convolution_mode_flop,
    'aten::gelu': elementwise_flop_counter(0, 2),
}


class _TensorForward(nn.Module):
    """Call a model so that it returns tensors (mmpretrain's 'tensor' mode
    for classifiers, a plain call for anything else)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor):
        if hasattr(self.model, 'data_preprocessor'):
            return self.model(inputs, mode='tensor')
        return self.model(inputs)


def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model``, head included."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one ``input_shape`` (C, H, W) image, paper convention.

    The model is counted in eval mode, on one image; its mode is restored.
    """
    if len(input_shape) != 3 or not all(
            isinstance(s, int) and s > 0 for s in input_shape):
        raise ValueError('input_shape must be three positive ints (C, H, W), '
                         f'got {tuple(input_shape)}')
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else 'cpu'
        inputs = torch.zeros((1, *input_shape), device=device)
        analyzer = FlopAnalyzer(_TensorForward(model), inputs)
        analyzer.set_op_handle(**PAPER_OP_HANDLES)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        return int(analyzer.total())
    finally:
        model.train(was_training)


def format_millions(value: int, digits: int = 3) -> str:
    """``value`` in millions, mmengine style: ``'152.636M'``, ``'0.594M'``.

    Trailing zeros are dropped, as mmengine's model-complexity strings do.

    Args:
        value (int): The count.
        digits (int): Decimals kept. Defaults to 3.
    """
    text = f'{value / 1e6:.{digits}f}'.rstrip('0').rstrip('.')
    return f'{text}M'


def get_complexity(model: nn.Module,
                   input_shape: Sequence[int]) -> Dict[str, int]:
    """``dict(flops=..., params=...)`` of ``model`` for one image."""
    return dict(
        flops=count_flops(model, input_shape), params=count_params(model))
