"""The paper's learning-rate shape, tied to the length of training."""
import copy
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmsplitmix  # noqa: F401
from mmsplitmix.engine import PiecewiseLinearLR

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = REPO / 'configs/_base_/schedules/splitmixer_bs512_adamw_100e.py'


class TinyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)), target=index % 2)


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, inputs, target=None, mode='tensor'):
        out = self.fc(
            torch.stack(inputs) if isinstance(inputs, list) else inputs)
        if mode == 'loss':
            return dict(
                loss=nn.functional.cross_entropy(out, torch.as_tensor(target)))
        return out


class RecordLR(Hook):

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def train_with_schedule(tmp_path, max_epochs):
    """Train the tiny model with the paper's schedule config; return the lr
    of every iteration (8 samples, batch 2: 4 iterations per epoch)."""
    schedule = Config.fromfile(str(SCHEDULE))
    recorder = RecordLR()
    runner = Runner(
        model=TinyModel(),
        work_dir=str(tmp_path / f'run{max_epochs}'),
        train_dataloader=dict(
            dataset=TinyData(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=copy.deepcopy(schedule.optim_wrapper),
        param_scheduler=copy.deepcopy(schedule.param_scheduler),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=[recorder],
        default_hooks=dict(checkpoint=None),
        default_scope='mmpretrain')
    runner.train()
    return recorder.lrs


def paper_lr(progress, lr_max=0.05):
    """The original code's np.interp schedule at a fraction of training."""
    import numpy as np
    return float(
        np.interp(progress, [0, 0.4, 0.8, 1], [0, lr_max, lr_max / 20, 0]))


@pytest.mark.parametrize('max_epochs', [5, 10])
def test_shape_follows_max_epochs(tmp_path, max_epochs):
    lrs = train_with_schedule(tmp_path, max_epochs)
    total = 4 * max_epochs
    assert len(lrs) == total
    # Iteration t uses the curve at (t + 1) / total, as the original code's
    # loop.
    for t, lr in enumerate(lrs):
        assert lr == pytest.approx(paper_lr((t + 1) / total), abs=1e-12)
    assert lrs[int(0.4 * total) - 1] == pytest.approx(0.05)  # peak at 40 %
    assert lrs[int(0.8 * total) - 1] == pytest.approx(0.05 / 20)  # at 80 %
    assert lrs[-1] == pytest.approx(0.0)  # 0 at the end
    assert max(lrs) == pytest.approx(0.05)
    assert lrs[0] == pytest.approx(0.05 / (0.4 * total))


def build(**kwargs):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    return optimizer, PiecewiseLinearLR(optimizer, **kwargs)


def test_custom_points_and_begin():
    optimizer, scheduler = build(
        points=[(0, 1), (0.5, 0.5), (1, 1)], begin=2, end=6, by_epoch=False)
    lrs = []
    for _ in range(8):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    # Untouched before begin; the span [2, 6) has 4 steps.
    assert lrs == pytest.approx([1, 1, 0.75, 0.5, 0.75, 1, 1, 1])


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(), ValueError, 'needs `end`'),
    (dict(end=4, points=[(0, 0)]), ValueError, 'from 0 to 1'),
    (dict(end=4, points=[]), ValueError, 'from 0 to 1'),
    (dict(end=4, points=[(0.1, 0), (1, 1)]), ValueError, 'from 0 to 1'),
    (dict(end=4, points=[(0, 0), (0.9, 1)]), ValueError, 'from 0 to 1'),
    (dict(end=4, points=[(0, 0), (0.5, 1), (0.5, 0),
                         (1, 0)]), ValueError, 'increase strictly'),
    (dict(end=4, points=[(0, -1), (1, 0)]), ValueError, '>= 0'),
    (dict(end=4, points='0,1'), TypeError, 'sequence'),
    (dict(end=4, points=[(0, 0, 1), (1, 0)]), TypeError, 'pairs'),
    (dict(end=4, points=[(0, True), (1, 0)]), TypeError, 'numbers'),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        build(**kwargs)


def test_default_points_are_the_papers():
    _, scheduler = build(end=10, by_epoch=False)
    assert scheduler.points == ((0, 0), (0.4, 1), (0.8, 0.05), (1, 0))
    assert [scheduler.factor_at(step) for step in (3, 7, 9)] == \
        pytest.approx([1, 0.05, 0])


def test_epoch_config_converts_to_iterations():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = PiecewiseLinearLR.build_iter_from_epoch(
        optimizer, begin=1, end=3, epoch_length=4)
    assert (scheduler.begin, scheduler.end) == (4, 12)
    assert not scheduler.by_epoch and scheduler.span == 8
    for kwargs in (dict(by_epoch=False, epoch_length=4), dict(epoch_length=0),
                   dict(epoch_length=None)):
        with pytest.raises(ValueError, match='epoch_length'):
            PiecewiseLinearLR.build_iter_from_epoch(optimizer, end=3, **kwargs)
