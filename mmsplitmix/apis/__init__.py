"""The paper's experiments as named models of mmpretrain's model zoo."""
from .model_zoo import (NO_WEIGHTS_PREFIX, NoTrainedWeightsError,
                        find_resource, model_index_path, no_weights_message,
                        project_model_names, register_model_index,
                        resource_roots)

register_model_index()

__all__ = [
    'NO_WEIGHTS_PREFIX', 'NoTrainedWeightsError', 'no_weights_message',
    'find_resource', 'model_index_path', 'project_model_names',
    'register_model_index', 'resource_roots'
]
