"""The paper's experiments as named models of mmpretrain's model zoo."""
from .model_zoo import (model_index_path, project_model_names,
                        register_model_index)

register_model_index()

__all__ = ['model_index_path', 'project_model_names', 'register_model_index']
