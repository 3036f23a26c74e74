"""Unit tests of the hooks behind reproducible data loading and the class
checks (the end-to-end tests are in tests/test_tools)."""
import logging
import os
from functools import partial
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset.utils import worker_init_fn as mmengine_init
from mmengine.fileio import LocalBackend
from torch.utils.data import DataLoader

from mmsplitmix.datasets import EpochWorkerInit, SplitClassesError
from mmsplitmix.engine import (AtomicCheckpointHook, ConsistencyCheckHook,
                               ReproducibleDataHook)
from mmsplitmix.utils import load_checkpoint_file


def fake_runner(epoch, loader, seed=7):
    return SimpleNamespace(
        seed=seed,
        rank=0,
        epoch=epoch,
        train_loop=SimpleNamespace(dataloader=loader))


def test_each_epoch_starts_from_the_same_random_state():
    loader = DataLoader(list(range(4)), num_workers=2)
    hook = ReproducibleDataHook()
    draws = []
    for epoch in (0, 1, 1):
        torch.manual_seed(epoch * 100)  # whatever happened before
        hook.before_train_epoch(fake_runner(epoch, loader))
        draws.append(torch.rand(3))
        assert isinstance(loader.worker_init_fn, EpochWorkerInit)
        assert (loader.worker_init_fn.seed,
                loader.worker_init_fn.epoch) == (7, epoch)
    assert torch.equal(draws[1], draws[2])
    assert not torch.equal(draws[0], draws[1])


def test_mmengine_seeding_is_replaced_but_a_config_init_fn_is_kept():
    hook = ReproducibleDataHook()
    loader = DataLoader(
        list(range(4)),
        num_workers=1,
        worker_init_fn=partial(mmengine_init, num_workers=1, rank=0, seed=0))
    hook.before_train_epoch(fake_runner(0, loader))
    assert isinstance(loader.worker_init_fn, EpochWorkerInit)

    def own(worker_id):
        pass

    loader = DataLoader(list(range(4)), num_workers=1, worker_init_fn=own)
    hook.before_train_epoch(fake_runner(0, loader))
    assert loader.worker_init_fn is own


def test_worker_threads_must_be_positive():
    with pytest.raises(ValueError, match='worker_threads'):
        ReproducibleDataHook(worker_threads=0)


def test_validation_classes_must_be_the_training_classes():

    def loader(classes):
        return SimpleNamespace(
            dataset=SimpleNamespace(metainfo=dict(classes=classes)))

    runner = SimpleNamespace(
        train_loop=SimpleNamespace(dataloader=loader(('a', 'b', 'c'))),
        val_loop=SimpleNamespace(dataloader=loader(('a', 'c'))))
    with pytest.raises(SplitClassesError, match=r"missing \['b'\]"):
        ConsistencyCheckHook().before_train(runner)
    runner.val_loop.dataloader = loader(('a', 'b', 'c'))
    ConsistencyCheckHook().before_train(runner)


def test_splits_must_have_the_classes_the_head_scores():
    """A split with fewer (or more) classes than the head: its labels do
    not index the head's classes."""

    def loader(classes):
        return SimpleNamespace(
            dataset=SimpleNamespace(metainfo=dict(classes=classes)))

    head = SimpleNamespace(head=SimpleNamespace(num_classes=3))
    runner = SimpleNamespace(
        model=head,
        train_loop=SimpleNamespace(dataloader=loader(('a', 'b'))),
        val_loop=None,
        test_loop=SimpleNamespace(dataloader=loader(('a', 'b', 'c', 'd'))))
    with pytest.raises(
            SplitClassesError,
            match='train_dataloader.dataset has 2 classes but '
            'model.head.num_classes is 3'):
        ConsistencyCheckHook().before_train(runner)
    with pytest.raises(
            SplitClassesError,
            match='test_dataloader.dataset has 4 classes but '
            'model.head.num_classes is 3'):
        ConsistencyCheckHook().before_test(runner)
    runner.train_loop.dataloader = loader(('a', 'b', 'c'))
    runner.test_loop.dataloader = loader(('a', 'b', 'c'))
    ConsistencyCheckHook().before_train(runner)
    ConsistencyCheckHook().before_test(runner)
    # unknown on either side: nothing to compare
    runner.model = SimpleNamespace(head=SimpleNamespace())
    runner.test_loop.dataloader = loader(('a', ))
    ConsistencyCheckHook().before_test(runner)


def test_resuming_with_another_schedule_length_is_refused():
    """Resuming restores the checkpoint's schedule: extending a run's
    max_epochs would train the extra epochs at a learning rate of 0."""
    from mmsplitmix.engine.schedulers import PiecewiseLinearLR
    from mmsplitmix.utils import CheckpointMismatchError

    def scheduler(epochs, iters_per_epoch=10):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                    lr=0.1)
        return PiecewiseLinearLR.build_iter_from_epoch(
            optimizer,
            points=[(0, 0), (0.4, 1), (0.8, 0.05), (1, 0)],
            end=epochs,
            epoch_length=iters_per_epoch)

    checkpoint = dict(
        meta=dict(), param_schedulers=[scheduler(2).state_dict()])
    runner = SimpleNamespace(
        cfg=dict(load_from='epoch_2.pth', resume=True),
        model=torch.nn.Linear(1, 1),
        param_schedulers=[scheduler(3)])
    hook = ConsistencyCheckHook()
    with pytest.raises(
            CheckpointMismatchError,
            match=r"'epoch_2.pth' resumes a PiecewiseLinearLR over the steps "
            r'\[0, 20\), but this config schedules it over \[0, 30\)'):
        hook.after_load_checkpoint(runner, checkpoint)
    # the same length: resumed (the weights are checked next)
    runner.param_schedulers = [scheduler(2)]
    checkpoint['state_dict'] = runner.model.state_dict()
    hook.after_load_checkpoint(runner, checkpoint)
    # fine-tuning from load_from starts its own schedule
    runner.cfg['resume'] = False
    runner.param_schedulers = [scheduler(3)]
    hook.after_load_checkpoint(runner, checkpoint)


def test_published_checkpoint_is_written_atomically(tmp_path):
    source = tmp_path / 'epoch_1.pth'
    torch.save(
        dict(
            meta=dict(epoch=1),
            state_dict=dict(w=torch.ones(2)),
            optimizer=dict(state={})), source)
    hook = AtomicCheckpointHook(
        interval=1, published_keys=['meta', 'state_dict'])
    hook.out_dir = str(tmp_path)
    hook.file_backend = LocalBackend()
    runner = SimpleNamespace(logger=logging.getLogger('test_publish'))
    hook._publish_model(runner, str(source))
    published = [p for p in os.listdir(tmp_path) if p != 'epoch_1.pth']
    assert len(published) == 1
    assert published[0].startswith('epoch_1-') and published[0].endswith(
        '.pth')
    checkpoint = load_checkpoint_file(str(tmp_path / published[0]))
    assert set(checkpoint) == {'meta', 'state_dict'}
