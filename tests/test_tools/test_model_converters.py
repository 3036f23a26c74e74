"""Round trip of original-code (timm-style) SplitMixer checkpoints."""
import errno
import os
import runpy
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

import mmsplitmix  # noqa: F401
from mmsplitmix.models import MIXER_SETTINGS
from tests.original_code import (OriginalSplitMixer, OriginalStrideMixer,
                                 Residual, TimmConvMixer, original_sequential,
                                 randomise_batch_norm)
from tests.test_tools.tools_testing import load_tool

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'model_converters' / 'splitmixer_to_mmpretrain.py'

converter = load_tool('model_converters/splitmixer_to_mmpretrain.py')


def mmpretrain_model(backbone, dim, classes):
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead', num_classes=classes, in_channels=dim)))


def round_trip(tmp_path, original_model, target, input_size):
    src, dst = tmp_path / 'original.pth', tmp_path / 'converted.pth'
    torch.save(original_model.state_dict(), src)
    converter.main([str(src), str(dst)])
    load_checkpoint(target, str(dst), map_location='cpu', strict=True)
    original_model.eval()
    target.eval()
    x = torch.randn(2, 3, input_size, input_size)
    with torch.no_grad():
        expected = original_model(x)
        torch.testing.assert_close(target(x, mode='tensor'), expected)
    return expected


@pytest.mark.parametrize('setting', MIXER_SETTINGS)
@pytest.mark.parametrize('spatial_trick', [True, False])
def test_round_trip_every_setting(tmp_path, setting, spatial_trick):
    dim = 12 if setting in ('III', '3D') else 13
    arch = dict(embed_dims=dim, depth=3, patch_size=2, kernel_size=3)
    original = randomise_batch_norm(
        OriginalSplitMixer(dim, 3, 3, 2, 5, setting, spatial_trick))
    target = mmpretrain_model(
        dict(
            type='SplitMixer',
            arch=arch,
            mixer_setting=setting,
            spatial_trick=spatial_trick), dim, 5)
    round_trip(tmp_path, original, target, 12)


def test_round_trip_convmixer(tmp_path):
    """Both tricks off: the original code's ConvMixer, loaded into our
    backbone and into mmpretrain's ConvMixer alike."""
    arch = dict(embed_dims=10, depth=2, patch_size=2, kernel_size=3)
    original = randomise_batch_norm(
        OriginalSplitMixer(10, 2, 3, 2, 4, None, False))
    ours = mmpretrain_model(
        dict(
            type='SplitMixer',
            arch=arch,
            spatial_trick=False,
            channel_trick=False), 10, 4)
    logits = round_trip(tmp_path, original, ours, 8)
    convmixer = mmpretrain_model(dict(type='ConvMixer', arch=arch), 10, 4)
    load_checkpoint(convmixer, str(tmp_path / 'converted.pth'), strict=True)
    convmixer.eval()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(convmixer(x, mode='tensor'), original(x))
    assert logits.shape == (2, 4)


@pytest.mark.parametrize('channel_kernel, channel_stride', [(6, 6), (8, 4)])
def test_round_trip_stride_mixer(tmp_path, channel_kernel, channel_stride):
    """The notebook's StrideMixer, in its setting III form (kernel = stride
    = C / 2) and its overlapping form (int(C * 2/3), C - int(C * 2/3))."""
    original = randomise_batch_norm(
        OriginalStrideMixer(12, 3, 3, 2, 5, channel_kernel, channel_stride))
    target = mmpretrain_model(
        dict(
            type='SplitMixer',
            arch=dict(embed_dims=12, depth=3, patch_size=2, kernel_size=3),
            mixer_setting='3D',
            channel_kernel_size=channel_kernel,
            channel_stride=channel_stride), 12, 5)
    round_trip(tmp_path, original, target, 12)
    converted = torch.load(tmp_path / 'converted.pth', weights_only=True)
    assert converted['meta']['source_layout'] == 'stridemixer'
    assert converter.stride_mixer_kernel(
        converted['state_dict']) == (channel_kernel, channel_stride)


@pytest.mark.parametrize('setting, spatial_trick', [('I', True), ('II', True),
                                                    ('III', True),
                                                    ('IV', True), ('V', True),
                                                    ('I', False)])
def test_round_trip_sequential(tmp_path, setting, spatial_trick):
    """The notebook's nn.Sequential models (SplitMixerI ... V, and
    SplitMixerI_channel_only without the spatial trick)."""
    dim = 12 if setting == 'III' else 13
    original = randomise_batch_norm(
        original_sequential(setting, dim, 3, 3, 2, 5, spatial_trick))
    target = mmpretrain_model(
        dict(
            type='SplitMixer',
            arch=dict(embed_dims=dim, depth=3, patch_size=2, kernel_size=3),
            mixer_setting=setting,
            spatial_trick=spatial_trick), dim, 5)
    round_trip(tmp_path, original, target, 12)
    assert converter.detect_layout(original.state_dict()) == 'sequential'


@pytest.mark.parametrize('layout', ['sequential', 'timm'])
def test_round_trip_convmixers(tmp_path, layout):
    """The notebook's nn.Sequential ConvMixer and timm's ConvMixer, into
    mmpretrain's ConvMixer and into our backbone with both tricks off."""
    arch = dict(embed_dims=10, depth=2, patch_size=2, kernel_size=3)
    if layout == 'timm':
        original = randomise_batch_norm(TimmConvMixer(10, 2, 3, 2, 4))
    else:
        original = randomise_batch_norm(
            original_sequential(None, 10, 2, 3, 2, 4, False))
    convmixer = mmpretrain_model(dict(type='ConvMixer', arch=arch), 10, 4)
    round_trip(tmp_path, original, convmixer, 8)
    ours = mmpretrain_model(
        dict(
            type='SplitMixer',
            arch=arch,
            spatial_trick=False,
            channel_trick=False), 10, 4)
    round_trip(tmp_path, original, ours, 8)
    expected = 'convmixer' if layout == 'timm' else 'sequential'
    assert converter.detect_layout(original.state_dict()) == expected


def test_every_layout_is_detected():
    layouts = {
        'splitmixer': OriginalSplitMixer(12, 2, 3, 2, 5, 'I'),
        'stridemixer': OriginalStrideMixer(12, 2, 3, 2, 5, 8, 4),
        'sequential': original_sequential('IV', 12, 2, 3, 2, 5),
        'convmixer': TimmConvMixer(12, 2, 3, 2, 5),
    }
    for name, model in layouts.items():
        assert converter.detect_layout(model.state_dict()) == name
        converted = converter.convert_original_state_dict(model.state_dict())
        assert len(converted) == len(model.state_dict())
        assert 'head.fc.weight' in converted


def test_layout_errors():
    # Keys of no layout at all.
    with pytest.raises(ValueError, match='matches none of the layouts'):
        converter.convert_original_state_dict(
            {'encoder.layer.0.weight': torch.zeros(1)})
    # A StrideMixer with a key of another layout: the closest layout is
    # named, with the key it does not know.
    state = OriginalStrideMixer(12, 1, 3, 2, 5, 8, 4).state_dict()
    state['mixer_blocks.1.0.mixer.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"'stridemixer'.*mixer_blocks\.1\.0"):
        converter.convert_original_state_dict(state)
    # A Sequential whose head is not where the depth puts it.
    state = original_sequential('I', 12, 2, 3, 2, 5).state_dict()
    state['9.weight'] = state.pop('7.weight')
    state['9.bias'] = state.pop('7.bias')
    with pytest.raises(ValueError, match=r"'sequential'.*9\.weight"):
        converter.convert_original_state_dict(state)
    # A gap in the block indices of a Sequential: block 4 named 5.
    state = {
        '5.' + key[2:] if key.startswith('4.') else key: value
        for key, value in original_sequential('I', 12, 2, 3, 2,
                                              5).state_dict().items()
    }
    with pytest.raises(ValueError, match=r'5\.0\.fn'):
        converter.convert_original_state_dict(state)
    with pytest.raises(ValueError, match='empty state dict'):
        converter.convert_original_state_dict({})


@pytest.mark.parametrize('config, setting', [
    ('splitmixer/splitmixer-i-256-8_1xb512_cifar10.py', 'I'),
    ('convmixer/convmixer-256-8_1xb512_cifar10.py', None),
])
def test_paper_config_loads_converted(tmp_path, config, setting, capsys,
                                      monkeypatch):
    """A paper-size checkpoint, nested under 'state_dict' with a
    DataParallel prefix, loads strictly into the model of the paper config,
    and the converter runs as a script."""
    from tests.test_configs.configs_testing import build_model, load_config
    original = randomise_batch_norm(
        OriginalSplitMixer(256, 8, 5, 2, 10, setting, setting is not None))
    src, dst = tmp_path / 'original.pth', tmp_path / 'converted.pth'
    torch.save(
        dict(
            epoch=100,
            state_dict={
                f'module.{k}': v
                for k, v in original.state_dict().items()
            }), src)
    monkeypatch.setattr(sys, 'argv', [str(TOOL), str(src), str(dst)])
    runpy.run_path(str(TOOL), run_name='__main__')
    assert f'{src} -> {dst}' in capsys.readouterr().out
    model = build_model(load_config(ROOT / 'configs' / config))
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    model.eval()
    original.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), original(x))


def test_refusal_as_a_script(tmp_path, monkeypatch):
    """Run as a script, the converter ends bad input with one line."""
    missing = tmp_path / 'missing.pth'
    monkeypatch.setattr(
        sys, 'argv',
        [str(TOOL), str(missing),
         str(tmp_path / 'o.pth')])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(TOOL), run_name='__main__')
    assert info.value.code == (
        f'error: checkpoint file not found: {str(missing)!r}')


def good_bytes(tmp_path):
    path = tmp_path / 'state_dict.pth'
    torch.save({'head.weight': torch.zeros(2, 2)}, path)
    return path.read_bytes()


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        converter.main([str(tmp_path / 'missing.pth'), str(tmp_path / 'o')])
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(ValueError, match='notes.pth'):
        converter.main([str(text), str(tmp_path / 'o.pth')])
    listing = tmp_path / 'list.pth'
    torch.save([1, 2, 3], listing)
    with pytest.raises(ValueError, match='not a model checkpoint'):
        converter.main([str(listing), str(tmp_path / 'o.pth')])
    foreign = tmp_path / 'foreign.pth'
    torch.save(
        {
            'patch_emb.0.weight': torch.zeros(1),
            'blocks.0.attn.qkv.weight': torch.zeros(1)
        }, foreign)
    with pytest.raises(ValueError, match='blocks.0.attn.qkv.weight'):
        converter.main([str(foreign), str(tmp_path / 'o.pth')])
    unsafe = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': {}, 'obj': Residual(nn.Identity())}, unsafe)
    with pytest.raises(ValueError, match=r'refused to load.*Residual'):
        converter.main([str(unsafe), str(tmp_path / 'o.pth')])
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good_bytes(tmp_path)[:-100])
    with pytest.raises(ValueError, match='truncated.pth'):
        converter.main([str(truncated), str(tmp_path / 'o.pth')])
    good = tmp_path / 'good.pth'
    torch.save({'head.weight': torch.zeros(2, 2)}, good)
    with pytest.raises(FileNotFoundError, match='destination'):
        converter.main([str(good), str(tmp_path / 'no' / 'dir' / 'o.pth')])
    # the destination is checked before the source is read
    with pytest.raises(ValueError, match='is a folder, expected a file'):
        converter.main([str(text), str(tmp_path)])


@pytest.mark.filterwarnings('ignore:Environment variable TORCH_FORCE')
def test_trusted_file_loads_with_torch_override(tmp_path, monkeypatch):
    """A file holding other pickled objects converts with PyTorch's
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, and only with it."""
    state = OriginalSplitMixer(12, 2, 3, 2, 5, 'I').state_dict()
    src, dst = tmp_path / 'trusted.pth', tmp_path / 'converted.pth'
    torch.save({'state_dict': state, 'obj': Residual(nn.Identity())}, src)
    with pytest.raises(ValueError, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        converter.main([str(src), str(dst)])
    assert not dst.exists()
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    converter.main([str(src), str(dst)])
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    converted = torch.load(dst, weights_only=True)  # only tensors written
    assert converted['meta']['source_layout'] == 'splitmixer'
    assert len(converted['state_dict']) == len(state)


def test_failed_write_leaves_the_destination_whole(tmp_path, monkeypatch):
    src, dst = tmp_path / 'original.pth', tmp_path / 'converted.pth'
    torch.save(OriginalSplitMixer(12, 2, 3, 2, 5, 'I').state_dict(), src)
    dst.write_bytes(b'the previous file')

    def full_disk(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(OSError, match=r"converted\.pth.*no space left"):
        converter.main([str(src), str(dst)])
    assert dst.read_bytes() == b'the previous file'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'converted.pth', 'original.pth'
    ]
