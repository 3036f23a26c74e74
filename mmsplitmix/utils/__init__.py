"""Runtime utilities: safe checkpoint loading and saving, the checkpoints of
a work directory, checks of the tools' inputs and CPU distributed set-up.

Importing this package registers the safe loader for local checkpoint files
in mmengine's ``CheckpointLoader``.
"""
from .atomic_io import CheckpointSaveError, atomic_write, atomic_write_text
from .checkpoint import (TRUSTED_CHECKPOINTS_ENV, CorruptCheckpointError,
                         UnsafeCheckpointError, checkpoint_safe_globals,
                         load_checkpoint_file,
                         register_safe_checkpoint_loader,
                         trusted_checkpoints_enabled)
from .dist import (cpu_model_wrapper_cfg, init_cpu_process_group,
                   setup_cpu_distributed, shutdown_distributed)
from .runner_setup import add_reliability_hooks, build_runner, set_work_dir
from .state_dict_fit import (CheckpointMismatchError, check_checkpoint_fits,
                             compare_state_dict)
from .tool_args import (ConfigError, KeyValueAction, check_train_settings,
                        load_config, merge_cfg_options)
from .work_dir import (WorkDirInUseError, archive_previous_run,
                       check_work_dir_unused, checkpoint_location,
                       find_resume_checkpoint)

register_safe_checkpoint_loader()

__all__ = [
    'TRUSTED_CHECKPOINTS_ENV', 'CorruptCheckpointError',
    'UnsafeCheckpointError', 'checkpoint_safe_globals',
    'load_checkpoint_file', 'register_safe_checkpoint_loader',
    'trusted_checkpoints_enabled', 'cpu_model_wrapper_cfg',
    'init_cpu_process_group', 'setup_cpu_distributed', 'shutdown_distributed',
    'build_runner', 'set_work_dir', 'add_reliability_hooks',
    'CheckpointSaveError', 'atomic_write', 'atomic_write_text',
    'CheckpointMismatchError', 'check_checkpoint_fits', 'compare_state_dict',
    'ConfigError', 'KeyValueAction', 'check_train_settings', 'load_config',
    'merge_cfg_options', 'WorkDirInUseError', 'archive_previous_run',
    'check_work_dir_unused', 'checkpoint_location', 'find_resume_checkpoint'
]
