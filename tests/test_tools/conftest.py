"""Fixtures of the command-line tool tests (see tools_testing.py)."""
import pytest

from tests.test_tools.tools_testing import TOOLS, run_tool


@pytest.fixture(scope='session')
def trained_work_dir(tiny_config, tmp_path_factory):
    """One uninterrupted three-epoch run of tools/train.py, shared by the
    tests that need a trained checkpoint."""
    work_dir = tmp_path_factory.mktemp('trained')
    proc = run_tool([TOOLS / 'train.py', tiny_config, '--work-dir', work_dir])
    return dict(work_dir=work_dir, output=proc.stdout + proc.stderr)


TINY_ANALYSIS_CONFIG = """
custom_imports = dict(imports=['mmsplitmix'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type={backbone!r}, arch={arch!r}{extra}),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=16))
test_dataloader = dict(dataset=dict(type='CIFAR10', data_root='data',
                       pipeline=[dict(type='PackInputs')]))
"""
MIXER_ARCH = dict(embed_dims=16, depth=1, patch_size=2, kernel_size=3)
# RepVGG has a deploy form (mmpretrain's switch_to_deploy); 16 channels out.
# Measured in deploy modes only: PyTorch 2.14 corrupts memory in the backward
# pass of its 1x1 stride-2 stem conv (3 input channels) run channels-last on
# one CPU thread.
REPVGG_ARCH = dict(
    num_blocks=[1, 1, 1, 1],
    width_factor=[0.25, 0.125, 0.0625, 0.03125],
    group_layer_map=None,
    se_cfg=None)


@pytest.fixture(scope='module')
def tiny_configs(tmp_path_factory):
    """Configs of a tiny ConvMixer, SplitMixer-I and RepVGG, in this order,
    for the analysis tools."""
    folder = tmp_path_factory.mktemp('benchmark_configs')
    paths = []
    for name, backbone, arch, extra in [
        ('tiny-convmixer_cifar10', 'ConvMixer', MIXER_ARCH, ''),
        ('tiny-splitmixer-i_cifar10', 'SplitMixer', MIXER_ARCH,
         ", mixer_setting='I'"),
        ('tiny-repvgg_cifar10', 'RepVGG', REPVGG_ARCH, ''),
    ]:
        path = folder / f'{name}.py'
        path.write_text(
            TINY_ANALYSIS_CONFIG.format(
                backbone=backbone, arch=arch, extra=extra))
        paths.append(str(path))
    return paths
