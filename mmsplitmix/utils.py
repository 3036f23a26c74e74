"""``register_all_modules``, the entry point OpenMMLab's tools look for in
a package (``mmengine.hub.get_model('mmsplitmix::...')`` calls it)."""
import datetime
import warnings

from mmengine.registry import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register the modules of mmsplitmix and mmpretrain in their registries.

    Args:
        init_default_scope (bool): Whether to make ``mmsplitmix`` the default
            scope, whose registries find every mmpretrain and mmengine module
            too. Another current scope is replaced with a warning, as
            mmpretrain's ``register_all_modules`` does. Defaults to True.
    """
    from mmpretrain.utils import register_all_modules as register_mmpretrain

    import mmsplitmix.registry  # noqa: F401  (the mmsplitmix scope)
    register_mmpretrain(init_default_scope=False)
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmsplitmix', scope_name='mmsplitmix')
    elif current.scope_name != 'mmsplitmix':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "mmsplitmix"; register_all_modules makes it '
                      '"mmsplitmix". Pass init_default_scope=False to keep '
                      'it.')
        DefaultScope.get_instance(
            f'mmsplitmix-{datetime.datetime.now()}', scope_name='mmsplitmix')
