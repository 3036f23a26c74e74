"""mmpretrain's datasets, read from a local copy that is checked first.

Each class is the mmpretrain dataset of the same name without ``Local``.
Before reading anything it checks that the files it needs exist and, if
some do not, raises a :class:`DatasetNotFoundError` naming them. Nothing is
ever downloaded; docs/datasets.md shows the layouts.
"""
import os.path as osp
from typing import List, Sequence

from mmpretrain.datasets import (CIFAR10, CIFAR100, Flowers102, Food101,
                                 ImageNet)
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS

from .categories import FLOWERS102_CATEGORIES


class DatasetNotFoundError(FileNotFoundError):
    """Files a dataset reads are missing."""


class CorruptDatasetError(ValueError):
    """A dataset's files are not those of its official release."""


class _CheckedFiles:
    """Checks the files of :meth:`required_paths` (relative to
    :meth:`dataset_root`) before loading."""

    def required_paths(self) -> Sequence[str]:
        return ()

    def dataset_root(self) -> str:
        return self.data_root

    def load_data_list(self) -> List[dict]:
        root = self.dataset_root() or '.'
        missing = [
            osp.join(root, path) for path in self.required_paths()
            if not osp.exists(osp.join(root, path))
        ]
        if missing:
            raise DatasetNotFoundError(
                f'{type(self).__name__}: dataset not found under {root!r} '
                f'(absolute: {osp.abspath(root)}); missing: '
                f'{", ".join(missing)}. Nothing is downloaded: put the '
                'dataset there, or set the dataloaders\' data_root, with the '
                'layout docs/datasets.md shows.')
        return super().load_data_list()


class _LocalCIFAR(_CheckedFiles):

    def __init__(self, *args, download: bool = False, **kwargs):
        super().__init__(*args, download=download, **kwargs)

    def dataset_root(self) -> str:
        return self.data_prefix['root']

    def required_paths(self) -> Sequence[str]:
        if self.download:
            return ()
        names = [name for name, _ in self.train_list + self.test_list]
        return [
            osp.join(self.base_folder, name)
            for name in names + [self.meta['filename']]
        ]

    def _check_integrity(self) -> bool:
        """mmpretrain's md5 check, which reports a file that differs from
        the official release as missing and suggests downloading: here the
        files are named (computed once; mmpretrain asks twice)."""
        if self.download:
            return super()._check_integrity()
        if not getattr(self, '_files_verified', False):
            root = osp.join(self.dataset_root(), self.base_folder)
            differing = [
                osp.join(root, name)
                for name, md5 in self.train_list + self.test_list if
                md5 is not None and not check_md5(osp.join(root, name), md5)
            ]
            if differing:
                raise CorruptDatasetError(
                    f'{type(self).__name__}: {len(differing)} file(s) differ '
                    'from the official release (their md5 sums do not '
                    f'match): {", ".join(differing)}. Extract '
                    f'{osp.basename(self.url)} ({self.url}) again into '
                    f'{self.dataset_root()!r}.')
            self._files_verified = True
        return True


@DATASETS.register_module()
class LocalCIFAR10(_LocalCIFAR, CIFAR10):
    """mmpretrain's :class:`~mmpretrain.datasets.CIFAR10`, never downloaded
    unless ``download=True``; ``data_root`` holds ``cifar-10-batches-py``."""


@DATASETS.register_module()
class LocalCIFAR100(_LocalCIFAR, CIFAR100):
    """mmpretrain's :class:`~mmpretrain.datasets.CIFAR100`, never
    downloaded unless ``download=True``; ``data_root`` holds
    ``cifar-100-python``."""


@DATASETS.register_module()
class LocalFlowers102(_CheckedFiles, Flowers102):
    """mmpretrain's :class:`~mmpretrain.datasets.Flowers102`, with the 102
    class names (mmpretrain's has none)."""
    METAINFO = {'classes': FLOWERS102_CATEGORIES}

    def required_paths(self) -> Sequence[str]:
        return ('jpg', 'imagelabels.mat', 'setid.mat')


@DATASETS.register_module()
class LocalFood101(_CheckedFiles, Food101):
    """mmpretrain's :class:`~mmpretrain.datasets.Food101`."""

    def required_paths(self) -> Sequence[str]:
        return ('images', osp.join('meta', f'{self.split}.txt'))


@DATASETS.register_module()
class LocalImageNet(_CheckedFiles, ImageNet):
    """mmpretrain's :class:`~mmpretrain.datasets.ImageNet`."""

    def required_paths(self) -> Sequence[str]:
        paths = [self.data_prefix['img_path']]
        if self.ann_file:
            paths.append(self.ann_file)
        root = self.data_root or ''
        return [osp.relpath(path, root) if root else path for path in paths]
