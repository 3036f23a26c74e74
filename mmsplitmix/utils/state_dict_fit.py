"""Whether a checkpoint's weights fit a model, said precisely."""
import inspect
import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch

from .model_wrappers import bare_model
from .saved_config import UNREADABLE

# mmengine's Runner strips this prefix (DDP) before loading.
WRAPPER_PREFIX = re.compile(r'^module\.')
# BatchNorm counters mmengine does not require (older checkpoints lack them).
OPTIONAL_KEYS = ('num_batches_tracked', )
SHOWN = 12
#: Backbone arguments that change the function a backbone computes but not
#: the names and shapes of its weights (SplitMixer's settings II and III
#: have the same weights), so that only the config saved in a checkpoint
#: tells them apart.
FUNCTION_ONLY_ARGS = ('mixer_setting', 'act_cfg')


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model."""


class StateDictFit(NamedTuple):
    """How a state dict fits a model.

    Attributes:
        loaded (list[str]): Keys whose tensors load.
        missing (list[str]): Model keys the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys the model lacks.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``.
    """
    loaded: List[str]
    missing: List[str]
    unexpected: List[str]
    mismatched: List[Tuple[str, tuple, tuple]]

    @property
    def exact(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)


def checkpoint_state_dict(checkpoint) -> dict:
    """The weights of a loaded checkpoint (``state_dict`` of a training
    checkpoint, or a bare state dict), with DDP's prefix removed."""
    state_dict = checkpoint
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        state_dict = checkpoint['state_dict']
    if not isinstance(state_dict, dict):
        raise CheckpointMismatchError(
            'The checkpoint holds no state dict (found '
            f'{type(state_dict).__name__}).')
    return {
        WRAPPER_PREFIX.sub('', key): value
        for key, value in state_dict.items()
    }


def compare_state_dict(model: torch.nn.Module,
                       state_dict: dict) -> StateDictFit:
    """Compare a (prefix-free) state dict with a model's."""
    expected = bare_model(model).state_dict()
    loaded, missing, mismatched = [], [], []
    for key, value in expected.items():
        if key not in state_dict:
            if not key.endswith(OPTIONAL_KEYS):
                missing.append(key)
            continue
        given = state_dict[key]
        given_shape = tuple(getattr(given, 'shape', ()))
        if given_shape != tuple(value.shape):
            mismatched.append((key, given_shape, tuple(value.shape)))
        else:
            loaded.append(key)
    unexpected = [key for key in state_dict if key not in expected]
    return StateDictFit(loaded, missing, unexpected, mismatched)


def _names(keys: Sequence[str]) -> str:
    shown = ', '.join(keys[:SHOWN])
    more = len(keys) - SHOWN
    return shown + (f', ... ({more} more)' if more > 0 else '')


def _shapes(items) -> str:
    shown = '; '.join(f'{key} (checkpoint {list(ckpt)}, model {list(mdl)})'
                      for key, ckpt, mdl in items[:SHOWN])
    more = len(items) - SHOWN
    return shown + (f'; ... ({more} more)' if more > 0 else '')


def describe_fit(fit: StateDictFit) -> List[str]:
    """One line per kind of difference."""
    lines = []
    if fit.mismatched:
        lines.append(f'{len(fit.mismatched)} of another shape: '
                     f'{_shapes(fit.mismatched)}')
    if fit.missing:
        lines.append(f'{len(fit.missing)} missing from the checkpoint: '
                     f'{_names(fit.missing)}')
    if fit.unexpected:
        lines.append(f'{len(fit.unexpected)} in the checkpoint but not in '
                     f'the model: {_names(fit.unexpected)}')
    return lines


def check_checkpoint_fits(model: torch.nn.Module,
                          checkpoint,
                          filename: Optional[str] = None) -> StateDictFit:
    """Raise :class:`CheckpointMismatchError` unless every weight of
    ``checkpoint`` fits ``model`` and the model gets all its weights.

    Returns:
        StateDictFit: The comparison (exact).
    """
    fit = compare_state_dict(model, checkpoint_state_dict(checkpoint))
    if not fit.exact:
        name = f'Checkpoint {filename!r}' if filename else 'The checkpoint'
        model_name = type(bare_model(model)).__name__
        raise CheckpointMismatchError(
            f'{name} does not fit the model of the config ({model_name}): ' +
            '; '.join(describe_fit(fit)) +
            '. Was it trained with another config (architecture, number of '
            'classes)? Use the config it was trained with.')
    return fit


def _backbone_arguments(backbone_cfg: dict) -> Optional[dict]:
    """The arguments of :data:`FUNCTION_ONLY_ARGS` that a backbone config
    builds with, defaults filled in; None for an unknown backbone type."""
    from mmpretrain.registry import MODELS
    backbone_type = backbone_cfg.get('type')
    try:
        cls = MODELS.get(backbone_type) if isinstance(backbone_type,
                                                      str) else backbone_type
        parameters = inspect.signature(cls.__init__).parameters
    except (KeyError, TypeError, ValueError):
        return None
    return {
        name: backbone_cfg.get(name, parameters[name].default)
        for name in FUNCTION_ONLY_ARGS if name in parameters
    }


def _plain(value):
    return dict(value) if isinstance(value, dict) else value


def check_same_backbone_function(saved_model: Optional[dict],
                                 model_cfg: dict,
                                 filename: Optional[str] = None) -> None:
    """Raise :class:`CheckpointMismatchError` when the backbone of the
    config saved in a checkpoint (``saved_model``, see
    :func:`mmsplitmix.utils.saved_config.saved_model_config`) and the one
    of ``model_cfg`` differ in an argument of :data:`FUNCTION_ONLY_ARGS`:
    the weights would load, and compute another function.

    Nothing is checked where the checkpoint has no saved config or the
    argument is not readable there.
    """
    saved_backbone = (saved_model or {}).get('backbone')
    backbone = (model_cfg or {}).get('backbone')
    if not isinstance(saved_backbone, dict) or not isinstance(backbone, dict):
        return
    saved = _backbone_arguments(saved_backbone)
    current = _backbone_arguments(backbone)
    if saved is None or current is None:
        return
    name = f'Checkpoint {filename!r}' if filename else 'The checkpoint'
    for key in saved.keys() & current.keys():
        if saved[key] is UNREADABLE:
            continue
        if _plain(saved[key]) != _plain(current[key]):
            raise CheckpointMismatchError(
                f'{name} was trained with backbone {key}='
                f'{_plain(saved[key])!r} (the config saved in it), but the '
                f'model of this config has {key}={_plain(current[key])!r}: '
                'the weights fit in name and shape, yet would compute '
                'another function. Use the config the checkpoint was '
                'trained with.')
