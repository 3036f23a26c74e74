"""Runtime utilities: safe checkpoint loading, CPU distributed set-up and
the package's set-up in mmengine.

Importing this package registers the safe loader for local checkpoint files
in mmengine's ``CheckpointLoader``, the ``mmsplitmix::`` config prefix, and
installed-package lookup without ``pkg_resources``
(see :mod:`mmsplitmix.utils.setup_env`).
"""
from .checkpoint import (TRUSTED_CHECKPOINTS_ENV, CorruptCheckpointError,
                         UnsafeCheckpointError, checkpoint_safe_globals,
                         load_checkpoint_file,
                         register_safe_checkpoint_loader,
                         trusted_checkpoints_enabled)
from .dist import (cpu_model_wrapper_cfg, init_cpu_process_group,
                   setup_cpu_distributed, shutdown_distributed)
from .runner_setup import build_runner, set_work_dir
from .setup_env import (get_installed_path, is_installed, register_all_modules,
                        register_package)

register_safe_checkpoint_loader()
register_package()

__all__ = [
    'TRUSTED_CHECKPOINTS_ENV', 'CorruptCheckpointError',
    'UnsafeCheckpointError', 'checkpoint_safe_globals',
    'load_checkpoint_file', 'register_safe_checkpoint_loader',
    'trusted_checkpoints_enabled', 'cpu_model_wrapper_cfg',
    'init_cpu_process_group', 'setup_cpu_distributed', 'shutdown_distributed',
    'build_runner', 'set_work_dir', 'get_installed_path', 'is_installed',
    'register_all_modules', 'register_package'
]
