"""Runtime utilities: safe checkpoint loading and saving, the checkpoints of
a work directory, checks of the tools' inputs, CPU distributed set-up and
the package's set-up in mmengine.

Importing this package registers the ``mmsplitmix::`` config prefix with
mmengine and, where ``pkg_resources`` is missing, lets mmengine find
installed packages without it (see :mod:`mmsplitmix.utils.setup_env`).
Safe checkpoint loading changes nothing in mmengine at import: it applies
inside :func:`safe_checkpoint_loading` blocks (see
:mod:`mmsplitmix.utils.checkpoint`).
"""
from .atomic_io import CheckpointSaveError, atomic_write, atomic_write_text
from .checkpoint import (TRUSTED_CHECKPOINTS_ENV, CorruptCheckpointError,
                         UnsafeCheckpointError, checkpoint_safe_globals,
                         load_checkpoint_file, safe_checkpoint_loading,
                         trusted_checkpoints_enabled)
from .dist import (cpu_model_wrapper_cfg, init_cpu_process_group,
                   setup_cpu_distributed, shutdown_distributed)
from .runner_setup import (add_custom_hook, add_reliability_hooks,
                           build_runner, set_work_dir)
from .setup_env import (get_installed_path, is_installed, register_all_modules,
                        register_package)
from .state_dict_fit import (CheckpointMismatchError, check_checkpoint_fits,
                             compare_state_dict)
from .tool_args import (ConfigError, KeyValueAction, check_train_settings,
                        load_config, merge_cfg_options)
from .work_dir import (WorkDirInUseError, archive_previous_run,
                       check_work_dir_unused, checkpoint_location,
                       find_resume_checkpoint)

register_package()

__all__ = [
    'TRUSTED_CHECKPOINTS_ENV', 'CorruptCheckpointError',
    'UnsafeCheckpointError', 'checkpoint_safe_globals', 'load_checkpoint_file',
    'safe_checkpoint_loading', 'trusted_checkpoints_enabled',
    'cpu_model_wrapper_cfg', 'init_cpu_process_group', 'setup_cpu_distributed',
    'shutdown_distributed', 'build_runner', 'set_work_dir',
    'get_installed_path', 'is_installed', 'register_all_modules',
    'register_package', 'add_custom_hook', 'add_reliability_hooks',
    'CheckpointSaveError', 'atomic_write', 'atomic_write_text',
    'CheckpointMismatchError', 'check_checkpoint_fits', 'compare_state_dict',
    'ConfigError', 'KeyValueAction', 'check_train_settings', 'load_config',
    'merge_cfg_options', 'WorkDirInUseError', 'archive_previous_run',
    'check_work_dir_unused', 'checkpoint_location', 'find_resume_checkpoint'
]
