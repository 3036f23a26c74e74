"""The model inside the wrappers a runner may put around it."""
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import nn


def bare_model(model: nn.Module) -> nn.Module:
    """``model`` without its wrappers: distributed ones (DDP, FSDP) and
    test-time augmentation (a :class:`~mmengine.model.BaseTTAModel`), which
    all hold the model they wrap as ``module``."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def bare_model_cfg(model_cfg):
    """The config of the model a test-time augmentation config wraps
    (``tta_model`` with ``module=<model config>``), or ``model_cfg``
    itself."""
    while isinstance(model_cfg, dict) and isinstance(
            model_cfg.get('module'), dict):
        model_cfg = model_cfg['module']
    return model_cfg
