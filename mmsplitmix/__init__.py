"""mmsplitmix: SplitMixer for OpenMMLab's mmpretrain.

Importing the package registers :class:`SplitMixer` in
``mmpretrain.registry.MODELS``, adds the paper's experiments to mmpretrain's
model zoo, and lets mmengine resolve ``mmsplitmix::`` (and, without
``pkg_resources``, ``mmpretrain::``) base configs.
"""
import warnings

import torch

from .version import check_torch_version

check_torch_version(torch.__version__)

# mmcv-lite has no compiled ops; mmcv warns about the one mmpretrain's
# transformer layers would import. No mmsplitmix model uses it.
warnings.filterwarnings(
    'ignore',
    message=r'Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning,
    module=r'mmcv\.cnn\.bricks\.transformer')

# isort: off  (registration order: the backbone, then what builds on it)
from . import models  # noqa: E402,F401  (registers the backbone)
from . import utils  # noqa: E402,F401  (checkpoints, mmengine set-up)
from . import apis, datasets, engine  # noqa: E402,F401  (zoo, data, runtime)
from .version import __version__, version_info  # noqa: E402

# isort: on

__all__ = ['__version__', 'version_info']
