import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.models import ConvMixer
from mmpretrain.registry import MODELS

import mmsplitmix  # noqa: F401
from mmsplitmix.models import (MIXER_SETTINGS, BaseChannelMixer, SplitMixer,
                               channel_mixer_class)
from mmsplitmix.models.speed_modes import to_channels_last
from tests.original_code import original_channel_mixer, randomise_batch_norm
from tests.paper_tables import expected_backbone_params

TINY = dict(embed_dims=24, depth=4, patch_size=2, kernel_size=3)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('setting', MIXER_SETTINGS)
@pytest.mark.parametrize('channels,ratio,segments',
                         [(256, 2 / 3, 2), (256, 0.5, 4), (96, 0.3, 3),
                          (60, 0.9, 5)])
def test_param_count_matches_the_papers_rules(setting, channels, ratio,
                                              segments):
    arch = dict(embed_dims=channels, depth=5, patch_size=2, kernel_size=5)
    model = SplitMixer(
        arch=arch, mixer_setting=setting, ratio=ratio, num_segments=segments)
    assert n_params(model) == expected_backbone_params(channels, 5, 2, 5,
                                                       setting, ratio,
                                                       segments)


def test_param_count_floors_partial_channels():
    # int(100 * 0.333) = 33, not round() = 33.3 -> 33; 0.999 -> 99
    for ratio, mixed in ((0.333, 33), (0.999, 99), (0.015, 1)):
        model = SplitMixer(
            arch=dict(embed_dims=100, depth=2, patch_size=2, kernel_size=3),
            ratio=ratio)
        assert model.stages[0][1].mixer.in_channels == mixed
        assert model.stages[1][1].mixer.in_channels == mixed


def test_param_count_without_tricks():
    model = SplitMixer(arch='256/8', spatial_trick=False, channel_trick=False)
    assert n_params(model) == expected_backbone_params(
        256, 8, 2, 5, None, spatial=False, channel=False)
    model = SplitMixer(arch='256/8', spatial_trick=True, channel_trick=False)
    assert n_params(model) == expected_backbone_params(
        256, 8, 2, 5, None, spatial=True, channel=False)


def test_matches_mmpretrain_convmixer_without_tricks():
    torch.manual_seed(0)
    arch = dict(embed_dims=32, depth=3, patch_size=2, kernel_size=5)
    convmixer = randomise_batch_norm(
        ConvMixer(arch=copy.deepcopy(arch), out_indices=[0, 1, 2]))
    splitmixer = SplitMixer(
        arch=arch,
        spatial_trick=False,
        channel_trick=False,
        out_indices=[0, 1, 2])
    assert set(splitmixer.state_dict()) == set(convmixer.state_dict())
    splitmixer.load_state_dict(convmixer.state_dict(), strict=True)
    convmixer.eval()  # ConvMixer.train() returns None, so do not chain
    splitmixer.eval()
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        expected = convmixer(x)
        outs = splitmixer(x)
    assert len(outs) == len(expected) == 3
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_registered_and_built_from_config():
    model = MODELS.build(
        dict(type='SplitMixer', arch=TINY, mixer_setting='iv'))
    assert isinstance(model, SplitMixer)
    assert model.mixer_setting == 'IV'


@pytest.mark.parametrize('setting', MIXER_SETTINGS)
def test_forward_shapes_and_out_indices(setting):
    model = SplitMixer(arch=TINY, mixer_setting=setting, out_indices=(0, -1))
    assert model.out_indices == (0, 3)
    outs = model(torch.randn(2, 3, 16, 16))
    assert isinstance(outs, tuple) and len(outs) == 2
    for out in outs:
        assert out.shape == (2, 24, 8, 8)


def test_default_arch_and_presets():
    assert SplitMixer().embed_dims == 256
    for name, arch in SplitMixer.arch_settings.items():
        assert name == f"{arch['embed_dims']}/{arch['depth']}"
    assert SplitMixer.arch_settings['256/8']['patch_size'] == 2
    assert SplitMixer.arch_settings['256/8']['kernel_size'] == 5
    assert SplitMixer.arch_settings['768/32']['kernel_size'] == 7
    assert SplitMixer.arch_settings['1024/20']['patch_size'] == 14
    assert SplitMixer.arch_settings['1536/20']['kernel_size'] == 9


def test_activation_config():
    model = SplitMixer(arch=TINY, act_cfg=dict(type='ReLU'))
    assert any(isinstance(m, nn.ReLU) for m in model.modules())
    assert not any(isinstance(m, nn.GELU) for m in model.modules())


def test_integer_padding_for_odd_kernels():
    model = SplitMixer(arch=TINY)
    convs = [model.stages[0][0].fn[0], model.stages[0][0].fn[3]]
    assert convs[0].kernel_size == (1, 3) and convs[0].padding == (0, 1)
    assert convs[1].kernel_size == (3, 1) and convs[1].padding == (1, 0)
    plain = SplitMixer(arch=TINY, spatial_trick=False)
    assert plain.stages[0][0].fn[0].padding == (1, 1)
    even = SplitMixer(arch=dict(TINY, kernel_size=4))
    assert even.stages[0][0].fn[0].padding == 'same'
    assert even(torch.randn(1, 3, 16, 16))[0].shape == (1, 24, 8, 8)


def test_train_and_eval_return_module():
    model = SplitMixer(arch=TINY)
    assert model.train() is model
    assert model.eval() is model
    assert not model.training


def test_frozen_stages():
    model = SplitMixer(arch=TINY, frozen_stages=2)
    model.train()
    for module in (model.stem, model.stages[0], model.stages[1]):
        assert not module.training
        assert all(not p.requires_grad for p in module.parameters())
    for module in model.stages[2:]:
        assert module.training
        assert all(p.requires_grad for p in module.parameters())
    running_mean = model.stem[2].running_mean.clone()
    model(torch.randn(2, 3, 16, 16))
    torch.testing.assert_close(model.stem[2].running_mean, running_mean)


def test_with_cp_gives_same_gradients():
    torch.manual_seed(0)
    plain = SplitMixer(arch=TINY)
    checkpointed = SplitMixer(arch=TINY, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 16, 16)
    for model in (plain, checkpointed):
        model.train()
        model(x)[-1].sum().backward()
    for (name, p1), (_, p2) in zip(plain.named_parameters(),
                                   checkpointed.named_parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, msg=name)


# ---------------------------------------------------------------------------
# channel mixers against the original code's
def original_mixer(mixer, setting, channels, block_index, ratio, segments):
    """The original's mixer of ``setting`` holding the weights of ``mixer``
    (their parameter names are the same)."""
    original = original_channel_mixer(setting, channels, block_index, ratio,
                                      segments)
    original.load_state_dict(mixer.state_dict(), strict=True)
    return original


@pytest.mark.parametrize('setting', MIXER_SETTINGS)
@pytest.mark.parametrize('channels,ratio,segments', [(24, 2 / 3, 2),
                                                     (37, 0.4, 3),
                                                     (30, 0.5, 5)])
def test_channel_mixers_match_the_original_code(setting, channels, ratio,
                                                segments):
    if setting in ('III', '3D') and channels % segments:
        pytest.skip('setting needs divisible channels')
    torch.manual_seed(0)
    model = SplitMixer(
        arch=dict(embed_dims=channels, depth=4, patch_size=1, kernel_size=3),
        mixer_setting=setting,
        ratio=ratio,
        num_segments=segments)
    x = torch.randn(2, channels, 5, 6)
    for i, stage in enumerate(model.stages):
        mixer = stage[1]
        original = original_mixer(mixer, setting, channels, i, ratio, segments)
        with torch.no_grad():
            torch.testing.assert_close(
                mixer(x), original(x), rtol=1e-5, atol=1e-5)


def test_channel_mixer_gradients_match_the_original_code():
    """Setting IV's grouped convolution (equal segments) against the
    original's convolution per segment, backward included."""
    torch.manual_seed(0)
    model = SplitMixer(
        arch=dict(embed_dims=12, depth=1, patch_size=1, kernel_size=3),
        mixer_setting='IV',
        num_segments=3)
    mixer = model.stages[0][1]
    assert mixer.equal_segments
    original = original_mixer(mixer, 'IV', 12, 0, 2 / 3, 3)
    x = torch.randn(2, 12, 4, 4)
    grads = []
    for module in (mixer, original):
        inputs = x.clone().requires_grad_()
        module(inputs).square().sum().backward()
        grads.append([inputs.grad] +
                     [conv.weight.grad for conv in module.mixer])
    for grad, original_grad in zip(*grads):
        torch.testing.assert_close(grad, original_grad)


def test_each_setting_is_one_registered_mixer_class():
    assert MIXER_SETTINGS == ('I', 'II', 'III', 'IV', 'V', '3D')
    for setting in MIXER_SETTINGS:
        cls = channel_mixer_class(setting)
        assert issubclass(cls, BaseChannelMixer) and cls.setting == setting
        model = SplitMixer(arch=TINY, mixer_setting=setting.lower())
        assert all(type(stage[1]) is cls for stage in model.stages)
    for bad in ('VI', 'i', 3):
        with pytest.raises(ValueError, match='unknown channel mixer setting'):
            channel_mixer_class(bad)


# ---------------------------------------------------------------------------
# bad arguments
@pytest.mark.parametrize('kwargs,error,match', [
    (dict(mixer_setting='VI'), ValueError, 'mixer_setting'),
    (dict(mixer_setting=1), TypeError, 'mixer_setting'),
    (dict(arch='512/4'), ValueError, 'arch'),
    (dict(arch=256), TypeError, 'arch'),
    (dict(arch=dict(embed_dims=256, depth=8, patch_size=2)), ValueError,
     'kernel_size'),
    (dict(arch=dict(TINY, depth=0)), ValueError, 'depth'),
    (dict(arch=dict(TINY, embed_dim=32)), ValueError,
     r"unknown keys \['embed_dim'\]"),
    (dict(arch=dict(TINY, embed_dims=-4)), ValueError, 'embed_dims'),
    (dict(arch=dict(TINY, patch_size=0)), ValueError, 'patch_size'),
    (dict(arch=dict(TINY, kernel_size=2.5)), TypeError, 'kernel_size'),
    (dict(ratio=0), ValueError, 'ratio'),
    (dict(ratio=1), ValueError, 'ratio'),
    (dict(ratio=1.5), ValueError, 'ratio'),
    (dict(ratio='half'), TypeError, 'ratio'),
    (dict(ratio=0.01), ValueError, 'no channels'),
    (dict(num_segments=1), ValueError, 'num_segments'),
    (dict(num_segments=25), ValueError, 'num_segments'),
    (dict(num_segments=2.0), TypeError, 'num_segments'),
    (dict(mixer_setting='III', num_segments=5), ValueError, 'divisible'),
    (dict(mixer_setting='3D', num_segments=5), ValueError, 'divisible'),
    (dict(out_indices=4), ValueError, 'out_indices'),
    (dict(out_indices=[-5]), ValueError, 'out_indices'),
    (dict(out_indices='last'), TypeError, 'out_indices'),
    (dict(out_indices=[]), ValueError, 'out_indices'),
    (dict(frozen_stages=5), ValueError, 'frozen_stages'),
    (dict(frozen_stages=-1), ValueError, 'frozen_stages'),
    (dict(in_channels=0), ValueError, 'in_channels'),
    (dict(spatial_trick='yes'), TypeError, 'spatial_trick'),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    kwargs = dict(kwargs)
    kwargs.setdefault('arch', TINY)
    with pytest.raises(error, match=match):
        SplitMixer(**kwargs)


def test_grouped_conv_path_matches_loop_for_unequal_segments():
    # 26 channels in 4 segments: 6, 6, 6, 8 -> the concatenating path
    model = SplitMixer(
        arch=dict(embed_dims=26, depth=1, patch_size=1, kernel_size=3),
        mixer_setting='IV',
        num_segments=4)
    mixer = model.stages[0][1]
    assert not mixer.equal_segments
    assert [conv.in_channels for conv in mixer.mixer] == [6, 6, 6, 8]
    x = torch.randn(1, 26, 3, 3)
    expected = torch.cat([
        F.conv2d(x[:, s:e], conv.weight, conv.bias)
        for conv, s, e in zip(mixer.mixer, [0, 6, 12, 18], [6, 12, 18, 26])
    ], 1)
    torch.testing.assert_close(mixer(x), expected)


# ---------------------------------------------------------------------------
# channels-last against the plain model
FAST_PATH_CASES = [(setting, dict()) for setting in MIXER_SETTINGS] + [
    ('IV', dict(num_segments=5)),
    ('V', dict(ratio=0.4)),
    ('I', dict(spatial_trick=False, channel_trick=False)),
]


def randomized_model(setting, **kwargs):
    """A small model whose BatchNorms have non-trivial statistics."""
    torch.manual_seed(0)
    model = SplitMixer(
        arch=dict(embed_dims=30, depth=3, patch_size=2, kernel_size=3),
        mixer_setting=setting,
        out_indices=[0, 2],
        **kwargs)
    return randomise_batch_norm(model)


def channels_last_copy(model):
    return to_channels_last(copy.deepcopy(model))


@pytest.mark.parametrize('setting,kwargs', FAST_PATH_CASES)
def test_channels_last_gives_same_outputs_and_gradients(setting, kwargs):
    model = randomized_model(setting, **kwargs)
    fast = channels_last_copy(model)
    x = torch.randn(4, 3, 12, 12)
    for mode in ('train', 'eval'):
        getattr(model, mode)()
        getattr(fast, mode)()
        outs = model(x)
        fast_outs = fast(x.contiguous(memory_format=torch.channels_last))
        for out, ref in zip(fast_outs, outs):
            assert out.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(out, ref, rtol=1e-4, atol=5e-5)
        weights = torch.randn_like(outs[-1])
        (outs[-1] * weights).sum().backward()
        (fast_outs[-1] * weights).sum().backward()
        for (name, p), (_, q) in zip(model.named_parameters(),
                                     fast.named_parameters()):
            # float sums in another order: compare relative to the norm
            error = (q.grad - p.grad).norm() / p.grad.norm()
            assert error < 5e-5, f'{mode} {name}: relative error {error}'
            p.grad = q.grad = None
    for (name, buf), (_, fast_buf) in zip(model.named_buffers(),
                                          fast.named_buffers()):
        torch.testing.assert_close(fast_buf, buf, msg=name)


@pytest.mark.parametrize('setting', MIXER_SETTINGS)
def test_channels_last_inference_without_autograd(setting):
    """Evaluation as mmengine's test loop runs it, without autograd."""
    model = randomized_model(setting).eval()
    fast = channels_last_copy(model)
    x = torch.randn(3, 3, 12, 12)
    with torch.inference_mode():
        expected = model(x)
        outs = fast(x.contiguous(memory_format=torch.channels_last))
    for out, ref in zip(outs, expected):
        assert out.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('setting', MIXER_SETTINGS)
def test_channels_last_under_autocast(setting):
    """Mixed-precision inference (``tools/test.py --amp
    --channels-last``): every mixer runs under autocast, in bfloat16, and
    computes the fp32 function up to bfloat16's rounding."""
    model = randomized_model(setting).eval()
    fast = channels_last_copy(model)
    x = torch.randn(5, 3, 12, 12)
    with torch.no_grad():
        expected = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outs = fast(x.contiguous(memory_format=torch.channels_last))
            eager_outs = model(x)
    for out, eager_out, ref in zip(outs, eager_outs, expected):
        assert out.dtype == eager_out.dtype == torch.bfloat16
        for result in (out, eager_out):
            error = (result.float() - ref).norm() / ref.norm()
            assert error < 3e-2, f'relative error {error}'


# ---------------------------------------------------------------------------
# weights of other networks
def test_load_state_dict_not_strict_loads_what_fits():
    """PyTorch's ``strict=False``: keys the backbone lacks, or that the
    weights lack, are reported and the rest is loaded."""
    torch.manual_seed(0)
    source = SplitMixer(arch=dict(TINY, depth=3))
    state_dict = {
        key: value + 1
        for key, value in source.state_dict().items()
        if not key.startswith('stem.')
    }
    state_dict['head.fc.weight'] = torch.zeros(2, 24)
    model = SplitMixer(arch=TINY)
    initial = copy.deepcopy(model.state_dict())
    result = model.load_state_dict(state_dict, strict=False)
    # (BatchNorm takes a missing num_batches_tracked as 0, unreported)
    missing = [
        key for key in initial if key.startswith(('stem.', 'stages.3.'))
    ]
    assert sorted(result.missing_keys) == sorted(
        key for key in missing if not key.endswith('num_batches_tracked'))
    assert sorted(result.unexpected_keys) == ['head.fc.weight']
    for key, value in model.state_dict().items():
        expected = state_dict.get(key, initial[key])
        assert torch.equal(value, expected), key
    with pytest.raises(RuntimeError, match='Missing key'):
        model.load_state_dict(state_dict)


def test_pretrained_init_cfg_loads_the_backbone_of_another_network(tmp_path):
    """Fine-tuning from another network's checkpoint: mmengine's
    ``Pretrained`` init with ``prefix='backbone.'`` loads the tensors that
    fit (here, of a ConvMixer classifier: the stem and the BatchNorms) and
    leaves the others as initialised."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        source = MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(type='ConvMixer', arch=dict(TINY)),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=3,
                          in_channels=24)))
    with torch.no_grad():
        for tensor in source.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(1)
    path = tmp_path / 'convmixer.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    model = SplitMixer(
        arch=TINY,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    initial = copy.deepcopy(model.state_dict())
    model.init_weights()
    loaded = {
        key[len('backbone.'):]: value
        for key, value in source.state_dict().items()
        if key.startswith('backbone.')
    }
    fitting = [
        key for key, value in model.state_dict().items()
        if key in loaded and loaded[key].shape == value.shape
    ]
    assert 'stem.0.weight' in fitting and 'stages.3.3.running_var' in fitting
    # ConvMixer's k x k depthwise kernels and full 1 x 1 mixers do not fit
    assert 'stages.0.0.fn.0.weight' not in fitting
    assert 'stages.0.1.mixer.weight' not in fitting
    for key, value in model.state_dict().items():
        expected = loaded[key] if key in fitting else initial[key]
        assert torch.equal(value, expected), key
