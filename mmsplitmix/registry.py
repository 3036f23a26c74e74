"""The ``mmsplitmix`` registry scope.

The project's modules register themselves in mmpretrain's registries (a
``SplitMixer`` backbone is an mmpretrain model). This module adds one child
node, with the scope ``mmsplitmix``, under each of them, so that what is
built in that scope finds every mmpretrain and mmengine module through the
parents.

mmengine builds in this scope whatever a config inherits with
``_base_ = ['mmsplitmix::...']`` (it tags those dicts ``_scope_='mmsplitmix'``)
and what ``mmengine.hub.get_model('mmsplitmix::...')`` builds; it imports
this module by name (``<scope>.registry``) to find the nodes.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

SCOPE = 'mmsplitmix'


def _child(parent: Registry) -> Registry:
    return Registry(parent.name, parent=parent, scope=SCOPE)


RUNNERS = _child(mmpretrain_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmpretrain_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmpretrain_registry.LOOPS)
HOOKS = _child(mmpretrain_registry.HOOKS)
LOG_PROCESSORS = _child(mmpretrain_registry.LOG_PROCESSORS)
OPTIMIZERS = _child(mmpretrain_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmpretrain_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(mmpretrain_registry.PARAM_SCHEDULERS)
DATASETS = _child(mmpretrain_registry.DATASETS)
DATA_SAMPLERS = _child(mmpretrain_registry.DATA_SAMPLERS)
TRANSFORMS = _child(mmpretrain_registry.TRANSFORMS)
MODELS = _child(mmpretrain_registry.MODELS)
MODEL_WRAPPERS = _child(mmpretrain_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmpretrain_registry.WEIGHT_INITIALIZERS)
BATCH_AUGMENTS = _child(mmpretrain_registry.BATCH_AUGMENTS)
TASK_UTILS = _child(mmpretrain_registry.TASK_UTILS)
TOKENIZER = _child(mmpretrain_registry.TOKENIZER)
METRICS = _child(mmpretrain_registry.METRICS)
EVALUATORS = _child(mmpretrain_registry.EVALUATORS)
VISUALIZERS = _child(mmpretrain_registry.VISUALIZERS)
VISBACKENDS = _child(mmpretrain_registry.VISBACKENDS)

__all__ = [
    'SCOPE', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS',
    'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS', 'TOKENIZER',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]
