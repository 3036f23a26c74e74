"""mmsplitmix: SplitMixer for OpenMMLab's mmpretrain.

Importing the package registers :class:`SplitMixer` in
``mmpretrain.registry.MODELS``.
"""
from . import models  # noqa: F401  (registers the backbone)
from . import apis, datasets, engine  # noqa: F401  (zoo, data, runtime)
from . import utils  # noqa: F401  (safe checkpoint loading)
from .version import __version__

__all__ = ['__version__']
