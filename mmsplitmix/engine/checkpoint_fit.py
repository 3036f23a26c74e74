"""Whether a checkpoint fits a model: its weights, and the function the
config saved in it computes."""
import ast
import inspect
from typing import Any, List, NamedTuple, Optional, Tuple

from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import nn

#: Backbone arguments that change the function computed but not the names
#: and shapes of the weights (SplitMixer's settings II and III have the same
#: weights): only the config saved in a checkpoint tells them apart.
FUNCTION_ONLY_ARGS = ('mixer_setting', 'act_cfg')
#: BatchNorm counters that older checkpoints lack; mmengine does not need
#: them.
OPTIONAL_KEYS = ('num_batches_tracked', )
UNREADABLE = object()
SHOWN = 12


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model it is loaded into."""


def bare_model(model: nn.Module) -> nn.Module:
    """``model`` without its distributed (DDP, FSDP) and test-time
    augmentation wrappers."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def bare_model_cfg(model_cfg):
    """The model config a test-time augmentation config wraps, or
    ``model_cfg``."""
    while isinstance(model_cfg, dict) and isinstance(
            model_cfg.get('module'), dict):
        model_cfg = model_cfg['module']
    return model_cfg


class StateDictFit(NamedTuple):
    loaded: List[str]
    missing: List[str]
    unexpected: List[str]
    mismatched: List[Tuple[str, tuple, tuple]]  # key, checkpoint, model

    @property
    def exact(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:

        def listed(items):
            more = len(items) - SHOWN
            return ', '.join(
                items[:SHOWN]) + (f', ... ({more} more)' if more > 0 else '')

        parts = []
        if self.mismatched:
            parts.append(
                f'{len(self.mismatched)} of another shape: ' + listed([
                    f'{key} (checkpoint {list(ckpt)}, model {list(model)})'
                    for key, ckpt, model in self.mismatched
                ]))
        if self.missing:
            parts.append(f'{len(self.missing)} missing from the checkpoint: ' +
                         listed(self.missing))
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} in the checkpoint but not '
                         'in the model: ' + listed(self.unexpected))
        return '; '.join(parts)


def checkpoint_state_dict(checkpoint) -> dict:
    """The weights of a loaded checkpoint, without DDP's ``module.``."""
    state_dict = checkpoint
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        state_dict = checkpoint['state_dict']
    if not isinstance(state_dict, dict):
        raise CheckpointMismatchError('the checkpoint holds no state dict')
    return {
        key[len('module.'):] if key.startswith('module.') else key: value
        for key, value in state_dict.items()
    }


def compare_state_dict(model: nn.Module, state_dict: dict) -> StateDictFit:
    """How a (prefix-free) state dict fits ``model``."""
    expected = bare_model(model).state_dict()
    loaded, missing, mismatched = [], [], []
    for key, value in expected.items():
        if key not in state_dict:
            if not key.endswith(OPTIONAL_KEYS):
                missing.append(key)
            continue
        shape = tuple(getattr(state_dict[key], 'shape', ()))
        if shape != tuple(value.shape):
            mismatched.append((key, shape, tuple(value.shape)))
        else:
            loaded.append(key)
    unexpected = [key for key in state_dict if key not in expected]
    return StateDictFit(loaded, missing, unexpected, mismatched)


def _literal(node: ast.AST) -> Any:
    """A config value parsed, never run: ``dict(...)`` calls, displays and
    literals; anything else is :data:`UNREADABLE`."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args
            and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {
            _literal(k): _literal(v)
            for k, v in zip(node.keys, node.values)
        }
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNREADABLE


def saved_model_config(checkpoint) -> Optional[dict]:
    """``model`` of the config mmengine saved in a checkpoint
    (``meta['cfg']``, Python source), parsed without running it; None
    where there is none."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    text = meta.get('cfg') if isinstance(meta, dict) else None
    try:
        tree = ast.parse(text) if isinstance(text, str) else None
    except (SyntaxError, ValueError):
        tree = None
    for node in tree.body if tree else ():
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], 'id', None) == 'model'):
            model = _literal(node.value)
            return model if isinstance(model, dict) else None
    return None


def _function_args(backbone_cfg) -> Optional[dict]:
    """The :data:`FUNCTION_ONLY_ARGS` a backbone config builds with,
    defaults filled in; None for an unknown type."""
    from mmpretrain.registry import MODELS
    if not isinstance(backbone_cfg, dict):
        return None
    cls = backbone_cfg.get('type')
    try:
        cls = MODELS.get(cls) if isinstance(cls, str) else cls
        parameters = inspect.signature(cls.__init__).parameters
    except (KeyError, TypeError, ValueError):
        return None
    return {
        name: backbone_cfg.get(name, parameters[name].default)
        for name in FUNCTION_ONLY_ARGS if name in parameters
    }


def check_same_function(saved_model: Optional[dict], model_cfg: dict,
                        name: str) -> None:
    """Raise :class:`CheckpointMismatchError` when the backbone saved with
    a checkpoint and the model's differ in a :data:`FUNCTION_ONLY_ARGS`
    argument (the weights would load, and compute another function)."""
    saved = _function_args((saved_model or {}).get('backbone'))
    current = _function_args((model_cfg or {}).get('backbone'))
    for key in (saved or {}).keys() & (current or {}).keys():
        plain = [
            dict(v) if isinstance(v, dict) else v
            for v in (saved[key], current[key])
        ]
        if saved[key] is not UNREADABLE and plain[0] != plain[1]:
            raise CheckpointMismatchError(
                f'{name} was trained with backbone {key}={plain[0]!r} (the '
                f'config saved in it), but this model has {key}='
                f'{plain[1]!r}: its weights fit in name and shape, yet '
                'would compute another function. Use the config the '
                'checkpoint was trained with.')
