"""mmsplitmix: SplitMixer for OpenMMLab's mmpretrain.

Importing the package registers :class:`SplitMixer` in
``mmpretrain.registry.MODELS``.
"""
from . import models  # noqa: F401  (registers the backbone)
from .version import __version__

__all__ = ['__version__']
