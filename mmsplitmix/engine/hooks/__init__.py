from .atomic_checkpoint_hook import AtomicCheckpointHook
from .consistency_check_hook import ConsistencyCheckHook, SplitClassesError
from .dataset_path_visualization_hook import DatasetPathVisualizationHook
from .model_form_hooks import (ChannelsLastHook, CompiledBackboneHook,
                               FastInferenceHook)
from .reproducible_data_hook import ReproducibleDataHook
from .safe_loading_hook import (CorruptCheckpointError, SafeLoadingHook,
                                UnsafeCheckpointError, read_checkpoint,
                                safe_checkpoint_loading)
from .work_dir_hook import WorkDirHook, WorkDirInUseError

__all__ = [
    'AtomicCheckpointHook', 'ConsistencyCheckHook', 'SplitClassesError',
    'DatasetPathVisualizationHook', 'ChannelsLastHook', 'CompiledBackboneHook',
    'FastInferenceHook', 'ReproducibleDataHook', 'SafeLoadingHook',
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'read_checkpoint',
    'safe_checkpoint_loading', 'WorkDirHook', 'WorkDirInUseError'
]
