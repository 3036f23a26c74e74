"""The paper's experiments as names in mmpretrain's model zoo.

After ``import mmsplitmix``, ``mmpretrain.list_models('splitmixer*')``,
``get_model(name)`` and ``inference_model(name, ...)`` know every config of
``model-index.yml`` by its file name. No trained weights are published: as
for any mmpretrain model without weights, ``pretrained=True`` warns and
keeps the random initialisation; pass ``pretrained=PATH`` to a checkpoint.
"""
from pathlib import Path
from typing import List, Optional

from mmpretrain.apis import ModelHub
from modelindex.load_model_index import load

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def model_index_path() -> Optional[Path]:
    """The ``model-index.yml`` shipped in the package (``.mim``, a link to
    the working tree in an editable install), else the one of the source
    tree the package sits in."""
    for root in (PACKAGE_DIR / '.mim', PACKAGE_DIR.parent):
        if (root / 'model-index.yml').is_file():
            return root / 'model-index.yml'
    return None


def project_model_names(index_path=None) -> List[str]:
    """The lower-cased model names of a model index (default: ours)."""
    index_path = index_path or model_index_path()
    if index_path is None:
        return []
    model_index = load(str(index_path))
    model_index.build_models_with_collections()
    return [model.name.lower() for model in model_index.models]


def register_model_index() -> None:
    """Add our model index to mmpretrain's ``ModelHub`` (once)."""
    index_path = model_index_path()
    if index_path is None:
        raise FileNotFoundError(
            'mmsplitmix: model-index.yml is missing from the package '
            f'({PACKAGE_DIR}); reinstall mmsplitmix')
    names = project_model_names(index_path)
    taken = [name for name in names if ModelHub.has(name)]
    if len(taken) == len(names):  # registered already
        return
    if taken:  # mmpretrain would register some names, then raise
        raise ValueError(f'cannot register {index_path}: the model names '
                         f"{taken} are already in mmpretrain's ModelHub")
    ModelHub.register_model_index(index_path, config_prefix=index_path.parent)
