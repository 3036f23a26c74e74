"""mmpretrain's datasets, read from a local copy that is checked up front.

Each class here is the mmpretrain dataset of the same name without the
``Local`` prefix. Before reading anything it checks that the files it needs
exist under ``data_root`` and, if some do not, raises a
:class:`DatasetNotFoundError` that names the missing paths and draws the
layout expected. Nothing is ever downloaded.
"""
import os.path as osp
from typing import List, Sequence

import numpy as np
from mmpretrain.datasets import (CIFAR10, CIFAR100, Flowers102, Food101,
                                 ImageNet)
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS

from .categories import FLOWERS102_CATEGORIES


class DatasetNotFoundError(FileNotFoundError):
    """Files a dataset reads are missing."""


class CorruptDatasetError(ValueError):
    """A dataset's files are not those of its official release."""


class LocalLayoutMixin:
    """Check that a dataset's files exist before loading them.

    A subclass sets ``LAYOUT`` (a drawing of the expected folder, shown in
    the error) and implements :meth:`required_paths`.
    """
    LAYOUT = ''

    def required_paths(self) -> Sequence[str]:
        """Paths (files or folders) the dataset reads, relative to the
        dataset root."""
        raise NotImplementedError

    def dataset_root(self) -> str:
        """The folder the required paths are relative to."""
        return self.data_root

    def check_layout(self) -> None:
        """Raise :class:`DatasetNotFoundError` naming every missing path and
        the expected layout."""
        root = self.dataset_root() or '.'
        missing = [
            osp.join(root, path) for path in self.required_paths()
            if not osp.exists(osp.join(root, path))
        ]
        if missing:
            name = type(self).__name__
            raise DatasetNotFoundError(
                f'{name}: dataset not found under {root!r} '
                f'(absolute: {osp.abspath(root)}). Missing: '
                f'{", ".join(missing)}. Nothing is downloaded; put the '
                'dataset there (or set data_root) with this layout, drawn '
                'for the default data_root of the configs:\n'
                f'{self.LAYOUT}')

    def load_data_list(self) -> List[dict]:
        self.check_layout()
        return super().load_data_list()


class _LocalCIFAR(LocalLayoutMixin):
    """CIFAR without download, in BGR channel order.

    The images are handed to the pipeline in BGR order, as images read
    from files are, so a config's pipeline and ``data_preprocessor``
    (``to_rgb=True``) treat a CIFAR image and an image file alike, e.g. in
    ``inference_model``.
    """

    def __init__(self, *args, download: bool = False, **kwargs):
        super().__init__(*args, download=download, **kwargs)

    def dataset_root(self) -> str:
        return self.data_prefix['root']

    def required_paths(self) -> Sequence[str]:
        if self.download:
            return ()
        names = [name for name, _ in self.train_list + self.test_list]
        names.append(self.meta['filename'])
        return [osp.join(self.base_folder, name) for name in names]

    def _check_integrity(self) -> bool:
        """mmpretrain's check of the files' md5 sums, which reports a file
        that differs from the official release as a dataset "not found"
        and suggests downloading; here such files are named. With
        ``download=True`` mmpretrain's check stands (a failure downloads
        the archive again). mmpretrain asks twice; the sums are computed
        once."""
        if self.download:
            return super()._check_integrity()
        if not getattr(self, '_files_verified', False):
            root = osp.join(self.dataset_root(), self.base_folder)
            files = [(osp.join(root, name), md5)
                     for name, md5 in self.train_list + self.test_list]
            differing = [
                path for path, md5 in files
                if md5 is not None and not check_md5(path, md5)
            ]
            if differing:
                raise CorruptDatasetError(
                    f'{type(self).__name__}: {len(differing)} file(s) '
                    'differ from the official release (their md5 sums do '
                    f'not match): {", ".join(differing)}. Damaged or made '
                    'elsewhere, they would not give the dataset; extract '
                    f'{osp.basename(self.url)} ({self.url}) again into '
                    f'{self.dataset_root()!r}.')
            self._files_verified = True
        return True

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for info in data_list:
            info['img'] = np.ascontiguousarray(info['img'][..., ::-1])
        return data_list


@DATASETS.register_module()
class LocalCIFAR10(_LocalCIFAR, CIFAR10):
    """mmpretrain's :class:`~mmpretrain.datasets.CIFAR10` read from a local
    copy (``download`` defaults to False), with images in BGR order.

    Args:
        data_root (str): The folder that holds ``cifar-10-batches-py``.
        split (str): 'train' or 'test'. Defaults to 'train'.
        download (bool): Download when missing. Defaults to False.
        **kwargs: Other arguments of
            :class:`~mmpretrain.datasets.CIFAR10`.
    """
    LAYOUT = ('data/cifar10\n'
              '└── cifar-10-batches-py  (cifar-10-python.tar.gz, extracted)\n'
              '    ├── batches.meta\n'
              '    ├── data_batch_1 ... data_batch_5\n'
              '    └── test_batch')


@DATASETS.register_module()
class LocalCIFAR100(_LocalCIFAR, CIFAR100):
    """mmpretrain's :class:`~mmpretrain.datasets.CIFAR100` read from a local
    copy (``download`` defaults to False), with images in BGR order.

    Args:
        data_root (str): The folder that holds ``cifar-100-python``.
        split (str): 'train' or 'test'. Defaults to 'train'.
        download (bool): Download when missing. Defaults to False.
        **kwargs: Other arguments of
            :class:`~mmpretrain.datasets.CIFAR100`.
    """
    LAYOUT = ('data/cifar100\n'
              '└── cifar-100-python  (cifar-100-python.tar.gz, extracted)\n'
              '    ├── meta\n'
              '    ├── train\n'
              '    └── test')


@DATASETS.register_module()
class LocalFlowers102(LocalLayoutMixin, Flowers102):
    """mmpretrain's :class:`~mmpretrain.datasets.Flowers102` with its files
    checked before loading, and with the 102 class names (mmpretrain's
    class has none).

    Args:
        data_root (str): The folder of the Oxford 102 Flowers dataset.
        split (str): 'train', 'val', 'trainval' or 'test'.
            Defaults to 'trainval'.
        **kwargs: Other arguments of
            :class:`~mmpretrain.datasets.Flowers102`.
    """
    METAINFO = {'classes': FLOWERS102_CATEGORIES}
    LAYOUT = ('data/flowers102\n'
              '├── jpg\n'
              '│   ├── image_00001.jpg\n'
              '│   └── ...\n'
              '├── imagelabels.mat\n'
              '└── setid.mat')

    def required_paths(self) -> Sequence[str]:
        return ('jpg', 'imagelabels.mat', 'setid.mat')


@DATASETS.register_module()
class LocalFood101(LocalLayoutMixin, Food101):
    """mmpretrain's :class:`~mmpretrain.datasets.Food101` with its files
    checked before loading.

    Args:
        data_root (str): The folder of the Food-101 dataset.
        split (str): 'train' or 'test'. Defaults to 'train'.
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.Food101`.
    """
    LAYOUT = ('data/food101   (food-101.tar.gz, extracted)\n'
              '├── images\n'
              '│   ├── apple_pie\n'
              '│   │   ├── 1005649.jpg\n'
              '│   │   └── ...\n'
              '│   └── ...\n'
              '└── meta\n'
              '    ├── train.txt\n'
              '    └── test.txt')

    def required_paths(self) -> Sequence[str]:
        return ('images', osp.join('meta', f'{self.split}.txt'))


@DATASETS.register_module()
class LocalImageNet(LocalLayoutMixin, ImageNet):
    """mmpretrain's :class:`~mmpretrain.datasets.ImageNet` with its files
    checked before loading.

    Args:
        data_root (str): The folder of ImageNet-1k.
        split (str): 'train', 'val' or 'test'.
        **kwargs: Other arguments of :class:`~mmpretrain.datasets.ImageNet`.
    """
    LAYOUT = ('data/imagenet\n'
              '├── meta  (optional: train.txt, val.txt, "path label" lines)\n'
              '├── train\n'
              '│   ├── n01440764\n'
              '│   │   ├── n01440764_10026.JPEG\n'
              '│   │   └── ...\n'
              '│   └── ...\n'
              '└── val\n'
              '    ├── n01440764  (class folders, or flat files listed\n'
              '    │               in meta/val.txt)\n'
              '    └── ...')

    def required_paths(self) -> Sequence[str]:
        paths = [self.data_prefix['img_path']]
        if self.ann_file:
            paths.append(self.ann_file)
        root = self.data_root or ''
        return [osp.relpath(path, root) if root else path for path in paths]
