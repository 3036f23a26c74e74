"""Turning a config into a Runner, the same way for every tool."""
import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict

from .dist import setup_cpu_distributed

# mmengine's hook and its crash-safe replacement (same arguments).
PLAIN_CHECKPOINT_HOOKS = ('CheckpointHook', 'mmengine.CheckpointHook')
ATOMIC_CHECKPOINT_HOOK = 'AtomicCheckpointHook'
DATA_HOOK = 'ReproducibleDataHook'
CONSISTENCY_HOOK = 'ConsistencyCheckHook'


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str):
    """``work_dir`` if given, else the config's, else
    ``./work_dirs/<config name>`` (mmpretrain's default)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def hook_type_name(hook) -> Optional[str]:
    """The class name a hook's config entry builds (``'CheckpointHook'``
    for ``type='mmengine.CheckpointHook'``), or None if it names none."""
    hook_type = hook.get('type') if isinstance(hook, dict) else None
    if isinstance(hook_type, str):
        return hook_type.split('.')[-1]
    return getattr(hook_type, '__name__', None)


def registry_scope(cfg: Config) -> str:
    """The prefix naming our hooks, which live in mmpretrain's registry:
    empty when the config's default scope is mmpretrain."""
    return '' if cfg.get('default_scope') == 'mmpretrain' else 'mmpretrain.'


def add_custom_hook(cfg: Config, hook_type: str, **kwargs) -> ConfigDict:
    """The config's ``custom_hooks`` entry of one of our hooks, appended
    with the arguments ``kwargs`` if the config has none.

    An entry the config has already is returned as it is, so that a tool
    can set on it the options its command line asks for.

    Args:
        cfg (Config): The config, changed in place.
        hook_type (str): The hook's registered name.
        **kwargs: The arguments of a new entry.

    Returns:
        ConfigDict: The entry, as stored in ``cfg.custom_hooks``.
    """
    custom_hooks = list(cfg.get('custom_hooks') or [])
    names = [hook_type_name(hook) for hook in custom_hooks]
    if hook_type not in names:
        custom_hooks.append(
            ConfigDict(type=registry_scope(cfg) + hook_type, **kwargs))
        names.append(hook_type)
    cfg.custom_hooks = custom_hooks
    return cfg.custom_hooks[names.index(hook_type)]


def add_reliability_hooks(cfg: Config, strict_load_from: bool = False):
    """Give the config the project's safety hooks, where it lacks them.

    * mmengine's ``CheckpointHook`` becomes ``AtomicCheckpointHook`` (same
      arguments; crash-safe saving);
    * ``ReproducibleDataHook`` (epoch-seeded data workers, CPU threads) and
      ``ConsistencyCheckHook`` (checkpoints and classes that fit) are added
      to ``custom_hooks``.

    Args:
        cfg (Config): The config, changed in place.
        strict_load_from (bool): Whether ``load_from`` checkpoints must fit
            the model exactly (testing) rather than partly (fine-tuning).
    """
    scope = registry_scope(cfg)
    default_hooks = cfg.get('default_hooks') or {}
    checkpoint = default_hooks.get('checkpoint')
    if isinstance(checkpoint, dict):
        hook_type = checkpoint.get('type')
        from mmengine.hooks import CheckpointHook
        if hook_type in PLAIN_CHECKPOINT_HOOKS or hook_type is CheckpointHook:
            checkpoint['type'] = scope + ATOMIC_CHECKPOINT_HOOK

    custom_hooks = list(cfg.get('custom_hooks') or [])
    names = [hook_type_name(hook) for hook in custom_hooks]
    if DATA_HOOK not in names:
        custom_hooks.append(ConfigDict(type=scope + DATA_HOOK))
    if CONSISTENCY_HOOK in names:
        custom_hooks[names.index(CONSISTENCY_HOOK)]['strict_load_from'] = (
            strict_load_from)
    else:
        custom_hooks.append(
            ConfigDict(
                type=scope + CONSISTENCY_HOOK,
                strict_load_from=strict_load_from))
    cfg.custom_hooks = custom_hooks
    return cfg


def build_runner(cfg: Config, strict_load_from: bool = False):
    """Build the config's runner (``runner_type``, else mmengine's Runner),
    after adding the safety hooks (:func:`add_reliability_hooks`) and
    setting up distributed runs that have no GPU."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    add_reliability_hooks(cfg, strict_load_from=strict_load_from)
    setup_cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
