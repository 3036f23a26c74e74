"""Runtime utilities: safe checkpoint loading and CPU distributed set-up.

Importing this package registers the safe loader for local checkpoint files
in mmengine's ``CheckpointLoader``.
"""
from .checkpoint import (TRUSTED_CHECKPOINTS_ENV, CorruptCheckpointError,
                         UnsafeCheckpointError, checkpoint_safe_globals,
                         load_checkpoint_file,
                         register_safe_checkpoint_loader,
                         trusted_checkpoints_enabled)
from .dist import (cpu_model_wrapper_cfg, init_cpu_process_group,
                   setup_cpu_distributed, shutdown_distributed)
from .runner_setup import build_runner, set_work_dir

register_safe_checkpoint_loader()

__all__ = [
    'TRUSTED_CHECKPOINTS_ENV', 'CorruptCheckpointError',
    'UnsafeCheckpointError', 'checkpoint_safe_globals',
    'load_checkpoint_file', 'register_safe_checkpoint_loader',
    'trusted_checkpoints_enabled', 'cpu_model_wrapper_cfg',
    'init_cpu_process_group', 'setup_cpu_distributed', 'shutdown_distributed',
    'build_runner', 'set_work_dir'
]
