"""The ``mmsplitmix`` registry scope.

mmsplitmix registers its modules in mmpretrain's registries (a SplitMixer is
an mmpretrain model). This module adds a child node with the scope
``mmsplitmix`` under each of them. mmengine builds in that scope what a
config inherits with ``_base_ = ['mmsplitmix::...']`` (it tags those dicts
``_scope_='mmsplitmix'``) and what
``mmengine.hub.get_model('mmsplitmix::...')`` builds, and imports this
module by its name to find the nodes. A node finds every mmpretrain and
mmengine module through its parents, once it has imported the packages
that register them.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

SCOPE = 'mmsplitmix'
# What a node imports before its first look-up: mmpretrain registers its
# modules lazily, from these packages, and so does mmsplitmix.
LOCATIONS = [
    'mmpretrain.datasets', 'mmpretrain.engine', 'mmpretrain.evaluation',
    'mmpretrain.models', 'mmpretrain.visualization', 'mmsplitmix'
]


def _child(parent: Registry) -> Registry:
    return Registry(
        parent.name, parent=parent, scope=SCOPE, locations=LOCATIONS)


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
