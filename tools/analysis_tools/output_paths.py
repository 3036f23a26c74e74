"""Checks of the output paths given to the analysis tools, made before any
work: a measurement of minutes should not end unable to save its results.
"""
import os
import os.path as osp
from typing import Optional


def check_output_file(option: str, path: str) -> None:
    """Refuse an output file the tool could not write.

    Args:
        option (str): The option or argument naming it, for the message.
        path (str): The file to be written.

    Raises:
        FileNotFoundError: Its folder does not exist.
        ValueError: ``path`` is a folder, or its folder is not writable.
    """
    if osp.isdir(path):
        raise ValueError(
            f'{option} {path!r} is a folder, expected a file path')
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'{option} {path!r}: its folder {folder!r} does not exist')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f'{option} {path!r}: its folder {folder!r} is not writable')


def check_output_dir(option: str, path: Optional[str]) -> None:
    """Refuse an output folder that is a file (None is no folder).

    Raises:
        NotADirectoryError: ``path`` is a file.
    """
    if path is not None and osp.exists(path) and not osp.isdir(path):
        raise NotADirectoryError(
            f'{option} must be a directory, got the file {path!r}')
