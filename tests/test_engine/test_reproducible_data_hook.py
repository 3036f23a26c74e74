"""ReproducibleDataHook's parts (end to end, a killed and resumed run with
data workers: test_guarantees.py)."""
import logging
from types import SimpleNamespace

import torch
from mmengine.dataset import BaseDataset, DefaultSampler
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch.utils.data import DataLoader

from mmsplitmix.datasets import SampleSeeding
from mmsplitmix.engine import ReproducibleDataHook


class Numbers(BaseDataset):

    def __init__(self):
        super().__init__(pipeline=[], serialize_data=False)

    def load_data_list(self):
        return [dict(value=i) for i in range(4)]


def fake_runner(loader, loop=EpochBasedTrainLoop, seed=7):
    train_loop = object.__new__(loop)
    train_loop.dataloader = loader
    return SimpleNamespace(
        seed=seed,
        rank=0,
        epoch=0,
        train_loop=train_loop,
        logger=logging.getLogger('test_reproducible_data_hook'))


def loader(num_workers=0, persistent=False):
    dataset = Numbers()
    return DataLoader(
        dataset,
        sampler=DefaultSampler(dataset, seed=0),
        num_workers=num_workers,
        persistent_workers=persistent)


def test_training_samples_get_their_own_stream_once():
    hook, data = ReproducibleDataHook(), loader()
    runner = fake_runner(data)
    hook.before_train(runner)
    hook.before_train(runner)  # a second Runner.train()
    seeding = data.dataset.pipeline.transforms
    assert len(seeding) == 1 and isinstance(seeding[0], SampleSeeding)
    assert seeding[0].seed == 7 and data.sampler.seed == 7
    runner.epoch = 3
    hook.before_train_epoch(runner)
    assert seeding[0].epoch == 3


def test_each_epoch_starts_the_main_process_alike():
    hook, runner = ReproducibleDataHook(), fake_runner(loader())
    draws = []
    for epoch in (0, 1, 1):
        torch.manual_seed(epoch * 100)  # whatever happened before
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        draws.append(torch.rand(3))
    assert torch.equal(draws[1], draws[2])
    assert not torch.equal(draws[0], draws[1])


def test_persistent_workers_that_cannot_be_seeded_warn(caplog):
    data = loader(num_workers=1, persistent=True)
    with caplog.at_level(logging.WARNING):
        ReproducibleDataHook().before_train(
            fake_runner(data, loop=IterBasedTrainLoop))
    assert 'persistent_workers=True' in caplog.text
    assert data.dataset.pipeline.transforms == []
