"""mmsplitmix: SplitMixer for OpenMMLab's mmpretrain.

Importing the package registers, in mmpretrain's and mmengine's registries,
the ``SplitMixer`` backbone, the datasets, hooks, schedulers and checkpoint
file backend the configs build, and adds the paper's experiments to
mmpretrain's model zoo. It changes nothing else.
"""
import torch

from .version import __version__, check_torch_version

check_torch_version(torch.__version__)

# isort: off  (registration order: the backbone, then what builds on it)
from . import models  # noqa: E402,F401
from . import apis, datasets, engine  # noqa: E402,F401
from .engine.hooks.safe_loading_hook import safe_checkpoint_loading  # noqa
from .package_configs import package_configs  # noqa: E402

# isort: on

__all__ = ['__version__', 'safe_checkpoint_loading', 'package_configs']
