"""SplitMixer without autograd runs its layers in place: same outputs as
the layers run one by one, and nothing a caller holds is overwritten."""
import copy

import pytest
import torch
import torch.nn as nn

from mmsplitmix.models import MIXER_SETTINGS, SplitMixer
from mmsplitmix.models.backbones import inplace_inference, splitmixer
from mmsplitmix.models.backbones.inplace_inference import run_inplace
from mmsplitmix.models.speed_modes import to_channels_last
from tests.original_code import randomise_batch_norm

ARCH = dict(embed_dims=30, depth=3, patch_size=2, kernel_size=3)
CASES = [(setting, dict()) for setting in MIXER_SETTINGS] + [
    ('I', dict(spatial_trick=False)),
    ('I', dict(channel_trick=False)),
    ('II', dict(act_cfg=dict(type='ReLU'))),
    ('I', dict(act_cfg=dict(type='GELU', approximate='tanh'))),
    ('I', dict(norm_cfg=dict(type='BN', affine=False))),
    ('I', dict(norm_cfg=dict(type='GN', num_groups=3))),
]


def model_and_copy(setting, **kwargs):
    torch.manual_seed(0)
    model = randomise_batch_norm(
        SplitMixer(
            arch=ARCH, mixer_setting=setting, out_indices=[0, 1, 2], **kwargs))
    return model, copy.deepcopy(model)


def layer_by_layer(model, x, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(splitmixer, 'inplace_inference_applies', lambda: False)
        return model(x)


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('setting,kwargs', CASES)
def test_same_outputs_and_input_untouched(setting, kwargs, channels_last,
                                          monkeypatch):
    model, _ = model_and_copy(setting, **kwargs)
    model.eval()
    x = torch.randn(2, 3, 12, 12)
    if channels_last:
        to_channels_last(model)
        x = x.contiguous(memory_format=torch.channels_last)
    kept = x.clone()
    with torch.inference_mode():
        expected = layer_by_layer(model, x, monkeypatch)
        outs = model(x)
    assert len(outs) == 3
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x, kept, rtol=0, atol=0)


def test_used_only_without_autograd(monkeypatch):
    calls = []
    real = splitmixer.run_inplace

    def counting(layers, x):
        calls.append(layers)
        return real(layers, x)

    monkeypatch.setattr(splitmixer, 'run_inplace', counting)
    model, _ = model_and_copy('I')
    model.eval()
    x = torch.randn(2, 3, 12, 12)
    model(x)[-1].sum().backward()
    assert not calls
    torch.jit.trace(model, x, check_trace=False)
    assert not calls
    with torch.no_grad():
        model(x)
    assert len(calls) == 1 + ARCH['depth']


def test_training_mode_batch_norm_updates_its_statistics(monkeypatch):
    model, reference = model_and_copy('I')
    x = torch.randn(4, 3, 12, 12)
    with torch.no_grad():
        outs = model(x)
        expected = layer_by_layer(reference, x, monkeypatch)
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref)
    for (name, buf), (_, ref) in zip(model.named_buffers(),
                                     reference.named_buffers()):
        torch.testing.assert_close(buf, ref, msg=name)


def test_first_layer_never_writes_the_input():
    x = torch.randn(2, 4, 3, 3)
    kept = x.clone()
    out = run_inplace(nn.Sequential(nn.ReLU(), nn.GELU()), x)
    torch.testing.assert_close(out, nn.functional.gelu(kept.relu()))
    torch.testing.assert_close(x, kept, rtol=0, atol=0)


def test_folded_batch_norm_matches_the_layer():
    bn = randomise_batch_norm(nn.Sequential(nn.BatchNorm2d(5))).eval()[0]
    x = torch.randn(2, 5, 3, 3)
    expected = bn(x)
    assert inplace_inference._apply_inplace(bn, x)
    torch.testing.assert_close(x, expected)


def test_switched_off_and_argument_checked(monkeypatch):
    calls = []
    monkeypatch.setattr(splitmixer, 'run_inplace',
                        lambda layers, x: calls.append(layers))
    model = SplitMixer(arch=ARCH, inplace_inference=False).eval()
    with torch.no_grad():
        model(torch.randn(2, 3, 12, 12))
    assert not calls
    with pytest.raises(TypeError, match='inplace_inference must be a bool'):
        SplitMixer(arch=ARCH, inplace_inference='yes')


def test_layers_with_forward_hooks_run_as_modules(monkeypatch):
    model, _ = model_and_copy('I')
    model.eval()
    seen = []
    for module in (model.stages[1][-1], model.stages[2], model.stages[0][0],
                   model.stages[0][1]):
        module.register_forward_hook(
            lambda module, inputs, out: seen.append(out.clone()))
        module.register_forward_hook(
            lambda module, inputs, out: seen.append(out))
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        outs = model(x)
        expected = layer_by_layer(model, x, monkeypatch)
    # block 0's residual and mixer, block 1's last BatchNorm, block 2; each
    # twice: copied when the hook ran, and as the hook saw it
    assert len(seen) == 4 * 2 * 2
    for copied, kept in zip(seen[::2], seen[1::2]):
        torch.testing.assert_close(kept, copied, rtol=0, atol=0)
    torch.testing.assert_close(seen[4], expected[1])
    torch.testing.assert_close(seen[6], expected[2])
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
