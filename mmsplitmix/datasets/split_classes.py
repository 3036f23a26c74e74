"""The classes of a dataset split must be those of the training split.

mmpretrain's ``CustomDataset`` numbers the class folders of each split on
its own (sorted names). A validation or test split that lacks a class
folder therefore gives every later class the label of the next one, and
the accuracy is silently wrong. :func:`check_same_classes` stops such a run
and says which folders are missing or extra.
"""
from typing import Optional, Sequence


class SplitClassesError(ValueError):
    """A split's classes differ from the training split's."""


def check_same_classes(reference: Optional[Sequence[str]], reference_name: str,
                       classes: Optional[Sequence[str]], name: str) -> None:
    """Raise :class:`SplitClassesError` unless ``classes`` equals
    ``reference`` (same names, same order). Does nothing when either is
    unknown (None).

    Args:
        reference (Sequence[str] | None): The classes the labels must mean
            (the training split's, or a checkpoint's).
        reference_name (str): Where they come from, for the message.
        classes (Sequence[str] | None): The split's classes.
        name (str): The split, for the message.
    """
    if reference is None or classes is None:
        return
    reference, classes = tuple(reference), tuple(classes)
    if reference == classes:
        return
    missing = [c for c in reference if c not in classes]
    extra = [c for c in classes if c not in reference]
    details = []
    if missing:
        details.append(f'missing {missing}')
    if extra:
        details.append(f'not in {reference_name}: {extra}')
    if not details:
        details.append(f'same classes in another order: {list(classes)} '
                       f'against {list(reference)}')
    raise SplitClassesError(
        f'{name} has other classes than {reference_name} '
        f'({"; ".join(details)}), so its labels would mean other classes. '
        f'{name} has {len(classes)} classes, {reference_name} '
        f'{len(reference)}. For image folders (CustomDataset) every split '
        'needs one folder per class of the training split (an empty folder '
        'is fine); otherwise give the same metainfo classes to every '
        'split.')


def check_head_classes(num_classes: Optional[int], head_name: str,
                       classes: Optional[Sequence[str]], name: str) -> None:
    """Raise :class:`SplitClassesError` unless a split has as many classes
    as the classifier's head scores. Does nothing when either is unknown
    (None).

    Args:
        num_classes (int | None): The classes the head scores.
        head_name (str): The head's setting, for the message.
        classes (Sequence[str] | None): The split's classes.
        name (str): The split, for the message.
    """
    if num_classes is None or classes is None or \
            len(classes) == num_classes:
        return
    raise SplitClassesError(
        f'{name} has {len(classes)} classes but {head_name} is '
        f'{num_classes}, so its labels cannot mean the classes the model '
        'scores. Set the head\'s num_classes to the number of classes of '
        'the data (for a checkpoint, the number it was trained with), or '
        'give the split the classes of the training data.')
