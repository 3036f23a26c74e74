from .atomic_checkpoint_hook import AtomicCheckpointHook
from .consistency_check_hook import ConsistencyCheckHook
from .dataset_path_visualization_hook import DatasetPathVisualizationHook
from .model_form_hooks import (ChannelsLastHook, CompiledBackboneHook,
                               FastInferenceHook)
from .reproducible_data_hook import ReproducibleDataHook

__all__ = [
    'AtomicCheckpointHook', 'ConsistencyCheckHook', 'ReproducibleDataHook',
    'ChannelsLastHook', 'CompiledBackboneHook', 'FastInferenceHook',
    'DatasetPathVisualizationHook'
]
