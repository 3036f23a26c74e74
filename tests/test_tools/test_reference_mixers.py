import copy

import pytest
import torch
import torch.nn as nn

from mmsplitmix.models.backbones.channel_mixers import (MIXER_SETTINGS,
                                                        build_channel_mixer)
from mmsplitmix.models.backbones.splitmixer import SplitMixer
from tests.test_tools.tools_testing import load_tool

reference_mixers = load_tool('analysis_tools/reference_mixers.py')
has_reference = reference_mixers.has_reference
reference_mixer = reference_mixers.reference_mixer
to_reference_model = reference_mixers.to_reference_model
to_layer_by_layer_model = reference_mixers.to_layer_by_layer_model

# (channels, ratio, num_segments): even and odd channel counts, passes that
# overlap (ratio > 1/2) and passes that do not (ratio <= 1/2), equal and
# unequal segments.
SHAPES = [(12, 2 / 3, 2), (13, 2 / 3, 3), (17, 0.4, 4), (16, 0.5, 2),
          (9, 0.75, 2)]
# every setting but 3-D channel mixing, which slices nothing
SETTINGS = [setting for setting in MIXER_SETTINGS if setting != '3D']


def _mixer_pair(setting, channels, ratio, num_segments, block_index):
    if setting == 'III' and channels % num_segments:
        pytest.skip('setting III needs divisible channels')
    torch.manual_seed(block_index)
    mixer = build_channel_mixer(setting, channels, ratio, num_segments,
                                block_index)
    return mixer, reference_mixer(copy.deepcopy(mixer))


@pytest.mark.parametrize('setting', SETTINGS)
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('block_index', [0, 1, 2])
def test_reference_mixer_matches_forward_and_backward(setting, shape,
                                                      block_index):
    mixer, reference = _mixer_pair(setting, *shape, block_index)
    assert mixer.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(3, shape[0], 5, 4)
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    out, ref = mixer(x1), reference(x2)
    torch.testing.assert_close(out, ref)
    grad = torch.randn_like(out)
    out.backward(grad)
    ref.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad)
    for (name, p1), (_, p2) in zip(mixer.named_parameters(),
                                   reference.named_parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, msg=name)
    # and without autograd
    with torch.no_grad():
        torch.testing.assert_close(mixer(x), ref.detach())


def test_untouched_channels_pass_through():
    mixer = build_channel_mixer('I', 13, 2 / 3, 2, 0)
    x = torch.randn(2, 13, 3, 3)
    torch.testing.assert_close(mixer(x)[:, 8:], x[:, 8:])


@pytest.mark.parametrize('setting', SETTINGS)
def test_reference_model_same_outputs(setting):
    torch.manual_seed(0)
    arch = dict(
        embed_dims=15 if setting != 'III' else 16,
        depth=3,
        patch_size=2,
        kernel_size=3)
    model = SplitMixer(arch=arch, mixer_setting=setting, num_segments=2)
    reference = to_reference_model(model)
    assert reference is not model
    assert model.state_dict().keys() == reference.state_dict().keys()
    assert not any(
        p1 is p2 for p1, p2 in zip(model.parameters(), reference.parameters()))
    assert has_reference(model) and not has_reference(reference)
    assert model.inplace_inference and not reference.inplace_inference
    x = torch.randn(2, 3, 12, 12)
    model.eval()
    reference.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], reference(x)[-1])
    model.train()
    reference.train()
    torch.testing.assert_close(model(x)[-1], reference(x)[-1])


def test_reference_refuses_models_without_split_mixers():
    plain = SplitMixer(
        arch=dict(embed_dims=8, depth=1, patch_size=2, kernel_size=3),
        channel_trick=False)
    assert not has_reference(plain)
    with pytest.raises(ValueError, match='no SplitMixer channel mixer'):
        to_reference_model(plain)
    with pytest.raises(TypeError, match='nn.Module'):
        to_reference_model('model')
    with pytest.raises(TypeError, match='no reference formulation'):
        reference_mixer(nn.Conv2d(4, 4, 1))


def test_layer_by_layer_model():
    model = SplitMixer(
        arch=dict(embed_dims=8, depth=1, patch_size=2, kernel_size=3),
        channel_trick=False)
    copied = to_layer_by_layer_model(model)
    assert model.inplace_inference and not copied.inplace_inference
    assert type(copied.stages[0][1]) is type(model.stages[0][1])
    with pytest.raises(ValueError, match='holds no SplitMixer'):
        to_layer_by_layer_model(nn.Conv2d(4, 4, 1))
    with pytest.raises(TypeError, match='nn.Module'):
        to_layer_by_layer_model('model')
