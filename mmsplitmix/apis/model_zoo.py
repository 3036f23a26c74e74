"""Register the project's model index in mmpretrain's ``ModelHub``.

After ``import mmsplitmix``, ``mmpretrain.list_models('splitmixer*')``,
``mmpretrain.get_model(name)`` and ``mmpretrain.inference_model(name, ...)``
know the paper's experiments by their config names.

No trained weights are published yet. A model without weights in the index
gets, in ``ModelHub``, a ``weights`` URI that mmengine's ``CheckpointLoader``
answers with :class:`NoTrainedWeightsError`, so ``get_model(name,
pretrained=True)`` (and the inferencers, whose default that is) say so
instead of returning random weights.
"""
import warnings
from pathlib import Path
from typing import List, Optional

from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.apis import ModelHub
from modelindex.load_model_index import load

PACKAGE_DIR = Path(__file__).resolve().parents[1]
MODEL_INDEX = 'model-index.yml'
# ``weights`` of the models that have none; the rest of the URI is the name.
NO_WEIGHTS_PREFIX = 'mmsplitmix-no-weights://'


class NoTrainedWeightsError(ValueError):
    """``pretrained=True`` for a model that has no published weights."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(no_weights_message(name))


def no_weights_message(name: str) -> str:
    """What to tell a user who asks for the trained weights of ``name``."""
    return (f'no trained weights exist for {name!r}: mmsplitmix publishes '
            'none yet. Pass pretrained=PATH to your own checkpoint (e.g. '
            'one written by tools/train.py), or pretrained=False for '
            'randomly initialised weights.')


def load_from_no_weights(filename, map_location=None):
    """mmengine checkpoint loader of the ``NO_WEIGHTS_PREFIX`` URIs: there
    is nothing to load, so it raises :class:`NoTrainedWeightsError`."""
    raise NoTrainedWeightsError(filename[len(NO_WEIGHTS_PREFIX):])


CheckpointLoader.register_scheme(
    prefixes=NO_WEIGHTS_PREFIX, loader=load_from_no_weights, force=True)


def resource_roots() -> List[Path]:
    """Folders searched for the shipped resources, in order.

    A source checkout (the package beside ``setup.py``, e.g. an editable
    install) uses its working tree, so edits to configs are seen at once;
    an installed package uses the copy in ``mmsplitmix/.mim/``, as
    mmpretrain ships its own.
    """
    checkout = PACKAGE_DIR.parent
    mim = PACKAGE_DIR / '.mim'
    if (checkout / 'setup.py').is_file():
        return [checkout, mim]
    return [mim]


def find_resource(name: str) -> Optional[Path]:
    """Locate a shipped resource (``'configs'``, ``'tools'`` or
    ``'model-index.yml'``) in :func:`resource_roots`.

    Args:
        name (str): The file or folder name.

    Returns:
        Path | None: The first path found, or None.
    """
    for root in resource_roots():
        candidate = root / name
        if candidate.exists():
            return candidate
    return None


def model_index_path() -> Optional[Path]:
    """Path of the project's ``model-index.yml``, or None if not found."""
    return find_resource(MODEL_INDEX)


def project_model_names(index_path=None) -> List[str]:
    """Lower-cased names of the models in the project's model index.

    Args:
        index_path (str | Path, optional): The model index to read.
            Defaults to :func:`model_index_path`.
    """
    index_path = index_path or model_index_path()
    if index_path is None:
        return []
    model_index = load(str(index_path))
    model_index.build_models_with_collections()
    return [model.name.lower() for model in model_index.models]


def register_model_index(index_path=None) -> bool:
    """Add the project's models to mmpretrain's ``ModelHub``.

    Config paths in the index are relative to the folder that holds it.
    Calling it again (a second import, ``importlib.reload``) changes
    nothing.

    Args:
        index_path (str | Path, optional): The model index to register.
            Defaults to :func:`model_index_path`.

    Returns:
        bool: True if the models were registered by this call, False if
        they already were or no model index was found (with a warning).

    Raises:
        ValueError: If some, but not all, of the names are already taken,
            e.g. by another package's model index.
    """
    index_path = Path(index_path) if index_path else model_index_path()
    if index_path is None or not index_path.is_file():
        searched = ', '.join(str(root) for root in resource_roots())
        warnings.warn(
            f'mmsplitmix: {MODEL_INDEX} not found in {searched}; the '
            "SplitMixer models are not in mmpretrain's model zoo (reinstall "
            'mmsplitmix to ship it).')
        return False
    names = project_model_names(index_path)
    taken = [name for name in names if ModelHub.has(name)]
    if taken and len(taken) == len(names):
        return False
    if taken:
        raise ValueError(
            f'cannot register {index_path}: the model names {taken} are '
            "already in mmpretrain's ModelHub")
    ModelHub.register_model_index(index_path, config_prefix=index_path.parent)
    for name in names:
        metainfo = ModelHub._models_dict[name]
        if metainfo.weights is None:
            metainfo.weights = NO_WEIGHTS_PREFIX + name
    return True
