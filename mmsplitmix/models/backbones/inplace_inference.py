"""SplitMixer's layers run without autograd in the memory of their outputs.

Without autograd nothing keeps the intermediate tensors of a block, so the
activations, the inference-mode BatchNorms and the residual additions can
overwrite the tensor the convolution before them returned instead of each
allocating a new one: on the CPU a new tensor of ImageNet-scale activations is
fresh memory the operating system has to map, which costs more than the
operation itself. An inference-mode BatchNorm is then one in-place
multiply-add by its folded scale and shift. The values are those of the layers
run one by one, within float rounding.
"""
import torch
import torch.nn as nn
from mmpretrain.models.backbones.convmixer import Residual
from torch.nn.modules.batchnorm import _BatchNorm

from .channel_mixers import nhwc_view


def inplace_inference_applies() -> bool:
    """Whether :func:`run_inplace` may run the layers: autograd is off and no
    tracer or compiler records the graph (they keep the layers as they are,
    for exported graphs and FLOP counts)."""
    return not (torch.is_grad_enabled() or torch.jit.is_tracing()
                or torch.compiler.is_compiling())


def _channels_view(x: torch.Tensor):
    """``x`` with its channels in the last dim where it is stored
    channels-last, else ``x``; and the shape that broadcasts a per-channel
    vector over it."""
    nhwc = nhwc_view(x)
    if nhwc is not None:
        return nhwc, (-1, )
    return x, (-1, ) + (1, ) * (x.dim() - 2)


def _has_hooks(module: nn.Module) -> bool:
    """Whether forward hooks are registered on ``module``: it then runs as
    a module, so that they see its inputs and outputs."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


def _apply_inplace(layer: nn.Module, x: torch.Tensor) -> bool:
    """Apply ``layer`` to ``x`` in place if it is a GELU, a ReLU or an
    inference-mode BatchNorm without forward hooks; False if not."""
    if _has_hooks(layer):
        return False
    view, shape = _channels_view(x)
    if type(layer) is nn.GELU:
        torch.ops.aten.gelu_(view, approximate=layer.approximate)
        return True
    if type(layer) is nn.ReLU:
        view.relu_()
        return True
    if isinstance(layer, _BatchNorm) and not layer.training \
            and layer.running_mean is not None:
        scale = torch.rsqrt(layer.running_var + layer.eps)
        if layer.weight is not None:
            scale = scale * layer.weight
        shift = -layer.running_mean * scale
        if layer.bias is not None:
            shift = shift + layer.bias
        if shape == (-1, ):  # one pass where the channels are the last dim
            torch.addcmul(shift, view, scale, out=view)
        else:  # where a broadcast addcmul is slower than two passes
            view.mul_(scale.view(shape)).add_(shift.view(shape))
        return True
    return False


def _shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _run(layers: nn.Sequential, x: torch.Tensor):
    """``layers(x)``, and whether the result may be written in place: a
    tensor a layer without hooks returned, sharing no memory with ``x``."""
    out, owned = x, False
    for layer in layers:
        if isinstance(layer, Residual) and not _has_hooks(layer):
            branch, branch_owned = _run(layer.fn, out)
            out = branch.add_(out) if branch_owned else branch + out
            owned = True
        elif not (owned and _apply_inplace(layer, out)):
            result = layer(out)
            owned = not (_has_hooks(layer) or _shares_memory(result, out)
                         or _shares_memory(result, x))
            out = result
    return out, owned


def run_inplace(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``layers(x)``, with the layers that allow it applied in place to
    tensors the layers before them returned. Neither ``x`` nor a tensor a
    forward hook has seen is written.

    Call it only where :func:`inplace_inference_applies`.
    """
    if _has_hooks(layers):
        return layers(x)
    return _run(layers, x)[0]
