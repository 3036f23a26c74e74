"""Switches between the forms of a model that compute the same function at
different speeds: the channels-last memory format, deploy forms and a
compiled backbone.

They apply to any model, SplitMixer or not: what a model does not offer is
left as it is, and each function says what it changed.
"""
import inspect

import torch
import torch.nn as nn


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store the 4-D parameters and buffers of ``model`` channels-last.

    Unlike ``model.to(memory_format=torch.channels_last)``, this leaves
    tensors of other ranks (the 5-D kernel of 3-D channel mixing) as they
    are instead of failing on them. A convolution whose weight is
    channels-last returns channels-last outputs whatever its input, so the
    whole network then runs channels-last. Values are unchanged.

    Returns:
        nn.Module: ``model`` itself.
    """
    for module in model.modules():
        for name, tensor in list(module.named_parameters(recurse=False)) + \
                list(module.named_buffers(recurse=False)):
            if tensor is not None and tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(
                    memory_format=torch.channels_last)
    return model


def deployable_modules(model: nn.Module) -> list:
    """The submodules of ``model`` (itself included) that offer a deploy
    form through ``switch_to_deploy()``, mmpretrain's convention."""
    return [
        module for module in model.modules()
        if callable(getattr(module, 'switch_to_deploy', None))
    ]


def switch_to_deploy(model: nn.Module) -> int:
    """Switch every submodule of ``model`` that offers a deploy form to it.

    Returns:
        int: How many modules were switched; 0 when ``model`` has none.
    """
    modules = deployable_modules(model)
    for module in modules:
        module.switch_to_deploy()
    return len(modules)


def check_compile_options(options: dict) -> None:
    """Refuse keyword arguments that ``torch.compile`` does not take.

    Raises:
        TypeError: naming the unknown option and the ones it takes.
    """
    parameters = inspect.signature(torch.compile).parameters
    known = [name for name in parameters if name != 'model']
    unknown = [name for name in options if name not in known]
    if unknown:
        raise TypeError(f'torch.compile has no option {unknown[0]!r}; it '
                        f'takes {", ".join(known)}')


def compile_backbone(model: nn.Module, **options) -> nn.Module:
    """``torch.compile`` the backbone of ``model`` (``model`` itself if it
    has no ``backbone``), in place.

    The backbone's ``forward`` becomes the compiled one, an attribute of
    the instance: the module, its parameters and its state dict keep their
    names (``torch.compile(module)`` would wrap it, and add ``_orig_mod.``
    to every key). Forward and backward passes run compiled; whatever
    calls the backbone (the neck, the head and its loss, a training loop's
    optimizer step and logging) runs as it is, so nothing outside the
    network is traced, nor recompiled as its values change.

    Args:
        model (nn.Module): A classifier with a ``backbone``, or any module.
        **options: Keyword arguments of ``torch.compile`` (``mode``,
            ``dynamic``, ``backend`` ...).

    Returns:
        nn.Module: The module that was compiled.
    """
    check_compile_options(options)
    target = getattr(model, 'backbone', model)
    target.forward = torch.compile(target.forward, **options)
    return target
