"""Read the config that mmengine saves in a checkpoint, without running it.

mmengine's Runner stores the run's config as Python source in
``checkpoint['meta']['cfg']``. Executing that text would run code from the
checkpoint, which safe loading exists to prevent, so it is parsed instead:
``dict(...)`` calls, dict, list and tuple displays and literals are read;
anything else (a call, a name, an expression) reads as :data:`UNREADABLE`.
"""
import ast
from typing import Any, Optional

#: What a value that is not a plain literal reads as.
UNREADABLE = object()


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args and \
            all(keyword.arg is not None for keyword in node.keywords):
        return {
            keyword.arg: _literal(keyword.value)
            for keyword in node.keywords
        }
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {
            _literal(key): _literal(value)
            for key, value in zip(node.keys, node.values)
        }
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNREADABLE


def read_saved_config(text: str) -> dict:
    """The top-level assignments of a saved config, by name.

    Args:
        text (str): Python source of a config (``meta['cfg']``).

    Returns:
        dict: Each ``name = value`` at the top level; values that are not
        plain literals are :data:`UNREADABLE`. Empty if ``text`` is not
        valid Python.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = _literal(node.value)
    return found


def saved_model_config(checkpoint) -> Optional[dict]:
    """``model`` of the config saved in a loaded checkpoint, or None when
    the checkpoint has no readable saved config (a bare state dict, a
    converted checkpoint)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    model = read_saved_config(text).get('model')
    return model if isinstance(model, dict) else None
