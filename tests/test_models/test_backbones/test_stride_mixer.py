"""Setting 3D in its general form: a channel kernel and a channel stride, as
the original code's ``StrideMixer`` (non-overlapping for its setting III,
two overlapping windows for the others)."""
import pytest
import torch

from mmsplitmix.analysis import get_complexity
from mmsplitmix.models import SplitMixer
from mmsplitmix.models.backbones.channel_mixers import (Conv3dChannelMixer,
                                                        build_channel_mixer)
from tests.original_code import (OriginalStrideMixer,
                                 notebook_kernel_and_stride,
                                 randomise_batch_norm)


def copy_weights(original, ours):
    """Load the original's tensors into our backbone, module by module."""
    pairs = [(original.patch_emb, ours.stem)]
    for i, stage in enumerate(ours.stages):
        pairs += [(original.spatial_mixer[i].fn, stage[0].fn),
                  (original.channel_mixer[i][0], stage[1].mixer),
                  (original.channel_mixer[i][3], stage[3])]
    for src, dst in pairs:
        dst.load_state_dict(src.state_dict(), strict=True)


def backbone_params(model):
    return sum(p.numel() for name, p in model.named_parameters()
               if not name.startswith('head'))


CASES = [
    # (channels, kernel, stride): windows, filters
    (12, 6, 6),  # the notebook's setting III form: 2 windows, 6 filters
    (12, 4, 4),  # 3 non-overlapping windows
    (12, 8, 4),  # the overlapping form, int(12 * 2/3) and 12 - 8
    (18, 12, 6),  # the overlapping form, int(18 * 2/3) and 18 - 12
    (12, 7, 1),  # 6 windows, each shifted by one channel
    (12, 12, 5),  # one window: every filter sees every channel
]


@pytest.mark.parametrize('channels, kernel, stride', CASES)
def test_matches_the_original(channels, kernel, stride):
    original = randomise_batch_norm(
        OriginalStrideMixer(channels, 2, 3, 2, 4, kernel, stride)).eval()
    ours = SplitMixer(
        arch=dict(embed_dims=channels, depth=2, patch_size=2, kernel_size=3),
        mixer_setting='3D',
        channel_kernel_size=kernel,
        channel_stride=stride).eval()
    assert backbone_params(original) == backbone_params(ours)
    conv3d = ours.stages[0][1].mixer
    assert conv3d.weight.shape == original.channel_mixer[0][0].weight.shape
    copy_weights(original, ours)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[-1], original.forward_features(x))


@pytest.mark.parametrize('setting', ['I', 'III'])
def test_notebook_forms_at_paper_size(setting):
    """256 channels: the notebook's forms have the original's parameters."""
    kernel, stride = notebook_kernel_and_stride(256, setting)
    original = OriginalStrideMixer(256, 8, 5, 2, 10, kernel, stride)
    ours = SplitMixer(
        mixer_setting='3D', channel_kernel_size=kernel, channel_stride=stride)
    assert backbone_params(ours) == backbone_params(original)
    filters = {'I': 128, 'III': 128}[setting]
    assert ours.stages[0][1].mixer.weight.shape == (filters, 1, kernel, 1, 1)
    if setting == 'III':
        # The default 3D form is the notebook's setting III.
        default = SplitMixer(mixer_setting='3D', num_segments=2)
        assert backbone_params(default) == backbone_params(ours)
        assert (default.channel_kernel_size, default.channel_stride) == (128,
                                                                         128)


def test_output_channel_order_is_filter_major():
    """Filter f of window p is output channel f * windows + p."""
    mixer = Conv3dChannelMixer(6, kernel_size=4, stride=2)
    assert mixer.windows == 2
    x = torch.randn(1, 6, 1, 1)
    with torch.no_grad():
        out = mixer(x).flatten()
        weight = mixer.mixer.weight.flatten(1)  # (filters, kernel)
        bias = mixer.mixer.bias
        for f in range(3):
            for p in range(2):
                window = x.flatten()[2 * p:2 * p + 4]
                torch.testing.assert_close(out[f * 2 + p],
                                           weight[f] @ window + bias[f])


def test_flops_count_the_3d_convolution():
    """The paper-convention counter counts the Conv3d's multiply-adds:
    filters x kernel per output position."""
    mixer = Conv3dChannelMixer(12, kernel_size=8, stride=4)
    counted = get_complexity(mixer, (12, 5, 5))
    assert counted['flops'] == 6 * 8 * 2 * 5 * 5
    assert counted['params'] == 6 * 8 + 6
    # In a whole network: setting 3D against setting I at 256/8, 32 px,
    # differ by their channel mixers only (16 x 16 positions, 8 blocks).
    i_model = SplitMixer(mixer_setting='I')
    stride_model = SplitMixer(
        mixer_setting='3D', channel_kernel_size=170, channel_stride=86)
    i_count = get_complexity(i_model, (3, 32, 32))
    stride_count = get_complexity(stride_model, (3, 32, 32))
    assert stride_count['flops'] - i_count['flops'] == 8 * 16 * 16 * (
        128 * 170 * 2 - 170 * 170)
    assert stride_count['params'] - i_count['params'] == 8 * (
        (128 * 170 + 128) - (170 * 170 + 170))


def test_build_channel_mixer_passes_kernel_and_stride():
    mixer = build_channel_mixer('3D', 12, 2 / 3, 2, 0, 8, 4)
    assert isinstance(mixer, Conv3dChannelMixer)
    assert (mixer.kernel_size, mixer.stride, mixer.windows) == (8, 4, 2)
    default = build_channel_mixer('3D', 12, 2 / 3, 3, 0)
    assert (default.kernel_size, default.stride, default.windows) == (4, 4, 3)


def test_num_segments_is_free_with_an_explicit_kernel():
    # 3 does not divide 256, but the explicit kernel makes it irrelevant.
    model = SplitMixer(
        mixer_setting='3D',
        num_segments=3,
        channel_kernel_size=170,
        channel_stride=86)
    assert model.stages[0][1].windows == 2


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(channel_kernel_size=8), ValueError, 'channel_stride as well'),
    (dict(channel_stride=4), ValueError, 'channel_kernel_size as well'),
    (dict(channel_kernel_size=7, channel_stride=4), ValueError, 'uncovered'),
    (dict(channel_kernel_size=8,
          channel_stride=1), ValueError, '5 windows, which do not divide'),
    (dict(channel_kernel_size=13, channel_stride=1), ValueError,
     r'channel_kernel_size must be in \[1, 12\]'),
    (dict(channel_kernel_size=8, channel_stride=0), ValueError,
     'channel_stride must be a positive int'),
    (dict(channel_kernel_size=8.0,
          channel_stride=4), TypeError, 'channel_kernel_size must be an int'),
    (dict(mixer_setting='I', channel_kernel_size=8,
          channel_stride=4), ValueError, "got mixer_setting='I'"),
    (dict(channel_trick=False, channel_kernel_size=8,
          channel_stride=4), ValueError, 'got channel_trick=False'),
])
def test_bad_kernel_and_stride(kwargs, error, match):
    kwargs = dict(dict(mixer_setting='3D'), **kwargs)
    with pytest.raises(error, match=match):
        SplitMixer(
            arch=dict(embed_dims=12, depth=1, patch_size=2, kernel_size=3),
            **kwargs)


def test_original_rejects_what_we_reject():
    """Settings the original asserts against are refused here too; a
    setting whose windows do not tile the channels passes the original's
    check only to fail in its forward."""
    with pytest.raises(AssertionError):
        OriginalStrideMixer(12, 1, 3, 2, 4, 8, 1)
    with pytest.raises(ValueError):
        Conv3dChannelMixer(12, kernel_size=8, stride=1)
    # (12 - 10) / 4 + 1 = 1.5 divides 12, yet the Conv3d sees one window
    # and yields 8 channels, not 12.
    original = OriginalStrideMixer(12, 1, 3, 2, 4, 10, 4).eval()
    with pytest.raises(RuntimeError):
        original(torch.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match='uncovered'):
        Conv3dChannelMixer(12, kernel_size=10, stride=4)


@pytest.mark.parametrize('dataset, classes', [('cifar10', 10),
                                              ('cifar100', 100)])
def test_configs_have_the_originals_parameters(dataset, classes):
    """The 3D configs are the notebook's StrideMixer at ratio 2/3."""
    from tests.test_configs.configs_testing import (REPO, build_model,
                                                    load_config)
    cfg = load_config(REPO / 'configs' / 'splitmixer' /
                      f'splitmixer-3d-256-8_1xb512_{dataset}.py')
    model = build_model(cfg)
    kernel, stride = notebook_kernel_and_stride(256, 'I')
    backbone = cfg.model.backbone
    assert (backbone.channel_kernel_size, backbone.channel_stride) == (kernel,
                                                                       stride)
    original = OriginalStrideMixer(256, 8, 5, 2, classes, kernel, stride)
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in original.parameters())
