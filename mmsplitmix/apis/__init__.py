"""The paper's experiments as named models of mmpretrain's model zoo."""
from .model_zoo import (find_resource, model_index_path, project_model_names,
                        register_model_index, resource_roots)

register_model_index()

__all__ = [
    'find_resource', 'model_index_path', 'project_model_names',
    'register_model_index', 'resource_roots'
]
