import random

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from torch.utils.data import DataLoader, Dataset

from mmsplitmix.datasets import SampleSeeding
from mmsplitmix.datasets.workers import (main_process_threads, sample_seed,
                                         stream_seed)
from mmsplitmix.engine.hooks.consistency_check_hook import (SplitClassesError,
                                                            check_same_classes)


def test_stream_seeds_differ_for_each_input():
    seeds = {
        stream_seed(seed, epoch, rank, stream)
        for seed in (0, 1)
        for epoch in (0, 1)
        for rank in (0, 1)
        for stream in (0, 1, 2)
    }
    assert len(seeds) == 24
    assert all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize('workers, cpus, threads', [(0, 2, 2), (2, 2, 1),
                                                    (4, 2, 1), (4, 16, 12)])
def test_main_process_leaves_a_core_per_worker(workers, cpus, threads):
    assert main_process_threads(workers, cpus=cpus) == threads


def test_split_classes_must_match_the_training_split():
    check_same_classes(('a', 'b'), 'train', ('a', 'b'), 'val')
    check_same_classes(None, 'train', ('a', ), 'val')
    with pytest.raises(
            SplitClassesError,
            match=r"val has other classes than "
            r"train \(missing \['b'\]\)"):
        check_same_classes(('a', 'b', 'c'), 'train', ('a', 'c'), 'val')
    with pytest.raises(SplitClassesError, match=r"not in train: \['d'\]"):
        check_same_classes(('a', ), 'train', ('a', 'd'), 'val')
    with pytest.raises(SplitClassesError, match='in another order'):
        check_same_classes(('a', 'b'), 'train', ('b', 'a'), 'val')


class DrawingDataset(BaseDataset):
    """Eight samples whose pipeline records draws of Python's, NumPy's and
    PyTorch's global generators."""

    def __init__(self, seeding=None):
        super().__init__(pipeline=[self.draw], serialize_data=False)
        if seeding is not None:
            self.pipeline.transforms.insert(0, seeding)

    def load_data_list(self):
        return [dict(value=i) for i in range(8)]

    @staticmethod
    def draw(results):
        return (results['sample_idx'], random.random(), np.random.rand(),
                torch.rand(()).item())


def sample_draws(seeding, epochs, num_workers, persistent_workers):
    loader = DataLoader(
        DrawingDataset(seeding),
        batch_size=3,
        num_workers=num_workers,
        persistent_workers=persistent_workers,
        shuffle=False,
        collate_fn=list)
    runs = []
    for epoch in epochs:
        seeding.epoch = epoch
        runs.append([sample for batch in loader for sample in batch])
    return runs


def test_samples_are_seeded_alike_whatever_the_workers():
    seeding = SampleSeeding(seed=3)
    first = sample_draws(
        seeding, [0, 1], num_workers=1, persistent_workers=False)
    # Persistent workers read the new epoch; more workers change nothing.
    assert sample_draws(
        seeding, [0, 1], num_workers=2, persistent_workers=True) == first
    epoch_0, epoch_1 = first
    assert [sample[0] for sample in epoch_0] == list(range(8))
    # Each sample, epoch and seed has its own stream, in every generator.
    for draws in (epoch_0, epoch_1):
        for generator in (1, 2, 3):
            assert len({sample[generator] for sample in draws}) == 8
    assert all(a[1:] != b[1:] for a, b in zip(epoch_0, epoch_1))
    assert sample_draws(SampleSeeding(seed=4), [0], 1, False)[0] != epoch_0
    # Epoch 1 alone, as a run resumed after epoch 0 loads it.
    assert sample_draws(seeding, [1], 2, False) == [epoch_1]


def test_sample_seeding_leaves_the_main_process_stream_alone():
    np.random.seed(5)
    expected = [DrawingDataset()[i][2] for i in range(3)]
    np.random.seed(5)
    seeded = DrawingDataset(SampleSeeding(seed=3))
    assert [seeded[i][2] for i in range(3)] == expected


def test_a_sample_without_its_index_is_a_clear_error():

    class NoIndexDataset(Dataset):

        def __len__(self):
            return 2

        def __getitem__(self, index):
            return SampleSeeding(seed=0)(dict(value=index))

    loader = DataLoader(NoIndexDataset(), num_workers=1, collate_fn=list)
    with pytest.raises(KeyError, match="no 'sample_idx'"):
        list(loader)


def test_sample_seeds_differ_for_each_input_and_from_stream_seeds():
    seeds = {
        sample_seed(seed, epoch, index)
        for seed in (0, 1)
        for epoch in (0, 1)
        for index in range(6)
    }
    assert len(seeds) == 24
    assert all(0 <= s < 2**32 for s in seeds)
    assert sample_seed(0, 1, 2) != stream_seed(0, 1, 2, 0)
