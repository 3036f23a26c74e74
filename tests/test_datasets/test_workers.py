import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmsplitmix.datasets import (EpochWorkerInit, SplitClassesError,
                                 check_same_classes, main_process_threads,
                                 stream_seed)


class RandomDraws(Dataset):
    """Each item: draws of NumPy's and PyTorch's global generators, and the
    thread count of the process that made it."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return (np.random.rand(), torch.rand(
            ()).item(), torch.get_num_threads())


def draws(seed, epoch):
    loader = DataLoader(
        RandomDraws(),
        batch_size=1,
        num_workers=2,
        worker_init_fn=EpochWorkerInit(seed, rank=0, epoch=epoch))
    return [tuple(float(v) for v in batch) for batch in loader]


def test_workers_are_seeded_by_epoch_and_use_one_thread():
    first = draws(seed=3, epoch=1)
    assert draws(seed=3, epoch=1) == first
    assert draws(seed=3, epoch=2) != first
    assert draws(seed=4, epoch=1) != first
    assert {threads for _, _, threads in first} == {1}
    # The two workers draw different numbers.
    assert first[0][:2] != first[1][:2]


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
