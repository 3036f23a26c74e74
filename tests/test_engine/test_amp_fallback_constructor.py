"""AmpOptimWrapper on an accelerator, a plain OptimWrapper without one."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope

import mmsplitmix  # noqa: F401
from mmsplitmix.engine.optimizers import amp_fallback_constructor


def config(**extra):
    return dict(
        constructor='AmpFallbackOptimWrapperConstructor',
        type='AmpOptimWrapper',
        optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.005),
        clip_grad=dict(max_norm=1.0),
        **extra)


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return build_optim_wrapper(nn.Linear(3, 2), cfg)


@pytest.fixture
def fresh_warning(monkeypatch):
    monkeypatch.setattr(amp_fallback_constructor, '_warned', False)


def test_falls_back_to_fp32_without_gpu(monkeypatch, fresh_warning):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(amp_fallback_constructor, 'is_npu_available',
                        lambda: False)
    with pytest.warns(UserWarning, match='full precision'):
        wrapper = build(config(loss_scale='dynamic'))
    assert type(wrapper) is OptimWrapper
    assert wrapper.clip_grad_kwargs == dict(max_norm=1.0)
    assert isinstance(wrapper.optimizer, torch.optim.AdamW)
    assert wrapper.get_lr()['lr'] == [0.05]
    # The warning is given once per process.
    with _no_warning():
        build(config())
    # A training step runs.
    model = nn.Linear(3, 2)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        wrapper = build_optim_wrapper(model, config())
    loss = model(torch.rand(4, 3)).sum()
    wrapper.update_params(loss)


class _no_warning:

    def __enter__(self):
        import warnings
        self._catch = warnings.catch_warnings(record=True)
        self.records = self._catch.__enter__()
        warnings.simplefilter('always')
        return self

    def __exit__(self, *args):
        self._catch.__exit__(*args)
        messages = [str(r.message) for r in self.records]
        assert not any('full precision' in m for m in messages), messages


def test_builds_amp_wrapper_with_gpu(monkeypatch, fresh_warning):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    with _no_warning():
        wrapper = build(config(loss_scale=512.))
    assert isinstance(wrapper, AmpOptimWrapper)
    assert wrapper.clip_grad_kwargs == dict(max_norm=1.0)


def test_other_wrapper_types_are_untouched(monkeypatch, fresh_warning):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = config()
    cfg['type'] = 'OptimWrapper'
    with _no_warning():
        wrapper = build(cfg)
    assert type(wrapper) is OptimWrapper


def test_schedule_configs_use_it():
    from pathlib import Path

    from mmengine.config import Config
    schedules = Path(__file__).resolve().parents[2] / 'configs/_base_/' \
        'schedules'
    for path in sorted(schedules.glob('*.py')):
        cfg = Config.fromfile(str(path))
        assert cfg.optim_wrapper.constructor == \
            'AmpFallbackOptimWrapperConstructor', path.name
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper', path.name
