"""Missing or damaged data is a clear error; CIFAR comes in RGB, as from
mmpretrain's own class; class names exist."""
import pickle
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.datasets.utils import calculate_md5
from mmpretrain.registry import DATASETS

import mmsplitmix  # noqa: F401
from mmsplitmix.datasets import (CorruptDatasetError, DatasetNotFoundError,
                                 LocalCIFAR10, LocalCIFAR100, LocalFlowers102,
                                 LocalFood101, LocalImageNet, local_datasets)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    'cifar10': 'configs/_base_/datasets/cifar10_bs512.py',
    'cifar100': 'configs/_base_/datasets/cifar100_bs512.py',
    'flowers102': 'configs/_base_/datasets/flowers102_bs128.py',
    'food101': 'configs/_base_/datasets/food101_bs128.py',
    'in1k': 'configs/_base_/datasets/imagenet_bs64_convmixer_224.py',
}
EXPECTED_IN_MESSAGE = {
    'cifar10': 'cifar-10-batches-py',
    'cifar100': 'cifar-100-python',
    'flowers102': 'imagelabels.mat',
    'food101': 'meta/train.txt',
    'in1k': 'train',
}


@pytest.mark.parametrize('dataset', sorted(CONFIGS))
def test_missing_dataset_names_path_and_layout(dataset, tmp_path):
    cfg = Config.fromfile(str(REPO / CONFIGS[dataset]))
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    root = tmp_path / 'nowhere'
    dataset_cfg['data_root'] = str(root)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(DatasetNotFoundError) as info:
            DATASETS.build(dataset_cfg)
    message = str(info.value)
    assert str(root) in message
    assert 'Nothing is downloaded' in message
    assert 'docs/datasets.md' in message
    assert EXPECTED_IN_MESSAGE[dataset] in message


def write_cifar10(root, rng):
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    images = {}
    for name, count in [(f'data_batch_{i}', 2) for i in range(1, 6)] + \
            [('test_batch', 3)]:
        data = rng.integers(0, 256, (count, 3 * 32 * 32), dtype=np.uint8)
        images[name] = data
        with open(folder / name, 'wb') as f:
            pickle.dump({'data': data, 'labels': list(range(count))}, f)
    with open(folder / 'batches.meta', 'wb') as f:
        pickle.dump({'label_names': [str(i) for i in range(10)]}, f)
    return images


def official_md5s(monkeypatch, root):
    """Make the md5 sums of the files under ``root`` those of the official
    release; return the list of files whose sum was computed."""
    folder = root / 'cifar-10-batches-py'
    for attr in ('train_list', 'test_list'):
        files = [[name, calculate_md5(str(folder / name))]
                 for name, _ in getattr(LocalCIFAR10, attr)]
        monkeypatch.setattr(LocalCIFAR10, attr, files)
    checked = []

    def counting_check_md5(path, md5):
        checked.append(path)
        return calculate_md5(path) == md5

    monkeypatch.setattr(local_datasets, 'check_md5', counting_check_md5)
    return checked


def test_cifar_images_come_in_rgb(tmp_path, monkeypatch):
    """The images mmpretrain's CIFAR10 gives, for configs with
    ``to_rgb=False`` as mmpretrain's CIFAR configs."""
    images = write_cifar10(tmp_path, np.random.default_rng(0))
    checked = official_md5s(monkeypatch, tmp_path)
    dataset = LocalCIFAR10(data_root=str(tmp_path), split='test')
    # mmpretrain checks the files twice; the sums are computed once
    assert len(checked) == len(set(checked)) == 6
    assert len(dataset) == 3
    rgb = images['test_batch'][1].reshape(3, 32, 32).transpose(1, 2, 0)
    img = dataset.get_data_info(1)['img']
    assert img.shape == (32, 32, 3)
    np.testing.assert_array_equal(img, rgb)
    cfg = Config.fromfile(str(REPO / CONFIGS['cifar10']))
    assert cfg.data_preprocessor.to_rgb is False
    assert dataset.metainfo['classes'][0] == 'airplane'


def test_cifar_files_of_another_release_are_named(tmp_path, monkeypatch):
    write_cifar10(tmp_path, np.random.default_rng(0))
    folder = tmp_path / 'cifar-10-batches-py'
    with pytest.raises(CorruptDatasetError) as info:
        LocalCIFAR10(data_root=str(tmp_path), split='test')
    message = str(info.value)
    # all six generated files differ from the official ones
    for name in ['test_batch'] + [f'data_batch_{i}' for i in range(1, 6)]:
        assert str(folder / name) in message
    assert 'cifar-10-python.tar.gz' in message
    assert 'download=True' not in message

    official_md5s(monkeypatch, tmp_path)
    (folder / 'data_batch_3').write_bytes(b'damaged')
    with pytest.raises(CorruptDatasetError) as info:
        LocalCIFAR10(data_root=str(tmp_path), split='train')
    assert ('1 file(s) differ from the official release (their md5 sums do '
            f'not match): {folder / "data_batch_3"}. ') in str(info.value)


def test_food101_loads_a_local_copy(tmp_path):
    import cv2
    from mmpretrain.datasets.categories import FOOD101_CATEGORIES
    for name in ('apple_pie', 'waffles'):
        (tmp_path / 'images' / name).mkdir(parents=True)
        cv2.imwrite(
            str(tmp_path / 'images' / name / '1.jpg'),
            np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'train.txt').write_text('apple_pie/1\nwaffles/1\n')
    dataset = LocalFood101(data_root=str(tmp_path), split='train')
    assert [dataset.get_data_info(i)['gt_label'] for i in range(2)] == [
        FOOD101_CATEGORIES.index('apple_pie'),
        FOOD101_CATEGORIES.index('waffles')
    ]


def test_classes_of_every_dataset():
    assert len(LocalCIFAR10.METAINFO['classes']) == 10
    assert len(LocalCIFAR100.METAINFO['classes']) == 100
    flowers = LocalFlowers102.METAINFO['classes']
    assert len(flowers) == len(set(flowers)) == 102
    assert flowers[0] == 'pink primrose' and flowers[-1] == 'blackberry lily'
    assert len(LocalFood101.METAINFO['classes']) == 101
    assert len(LocalImageNet.METAINFO['classes']) == 1000


def test_cifar_download_is_off_by_default(tmp_path):
    with pytest.raises(FileNotFoundError):
        LocalCIFAR100(data_root=str(tmp_path), split='train')
