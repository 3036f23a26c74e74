import pytest
from mmengine.config import Config

from tests.test_tools.tools_testing import load_tool

config_inputs = load_tool('analysis_tools/config_inputs.py')
build_model_from_config = config_inputs.build_model_from_config
image_size_from_config = config_inputs.image_size_from_config
input_shape_for = config_inputs.input_shape_for
load_config = config_inputs.load_config
parse_shape = config_inputs.parse_shape


def _cfg(pipeline, dataset_type='CustomDataset', wrap=False, **model):
    dataset = dict(type=dataset_type, pipeline=pipeline)
    if wrap:
        dataset = dict(type='RepeatDataset', times=2, dataset=dataset)
    backbone = dict(type='SplitMixer', **model)
    return Config(
        dict(
            model=dict(type='ImageClassifier', backbone=backbone),
            test_dataloader=dict(dataset=dataset)))


@pytest.mark.parametrize('pipeline, size', [
    ([dict(type='Resize', scale=(40, 30))], (30, 40)),
    ([dict(type='Resize', scale=50)], (50, 50)),
    ([
        dict(type='ResizeEdge', scale=256),
        dict(type='CenterCrop', crop_size=224)
    ], (224, 224)),
    ([
        dict(type='Resize', scale=(230, 230)),
        dict(type='mmpretrain.RandomResizedCrop', scale=(20, 10))
    ], (20, 10)),
    ([dict(type='RandomCrop', crop_size=(12, 14)),
      dict(type='PackInputs')], (12, 14)),
    ([dict(type='EfficientNetCenterCrop', crop_size=64)], (64, 64)),
])
def test_size_from_pipeline(pipeline, size):
    assert image_size_from_config(_cfg(pipeline)) == size
    assert image_size_from_config(_cfg(pipeline, wrap=True)) == size


def test_native_dataset_size_and_errors():
    assert image_size_from_config(_cfg([], 'CIFAR100')) == (32, 32)
    assert image_size_from_config(_cfg([], 'mmpretrain.CIFAR10')) == (32, 32)
    with pytest.raises(ValueError, match='no known fixed size'):
        image_size_from_config(_cfg([dict(type='PackInputs')]))
    with pytest.raises(ValueError, match='does not end in a fixed'):
        image_size_from_config(_cfg([dict(type='ResizeEdge', scale=256)]))
    with pytest.raises(ValueError, match='does not end in a fixed'):
        image_size_from_config(
            _cfg([dict(type='Resize', scale=(256, 256), keep_ratio=True)]))
    with pytest.raises(ValueError, match='no test_dataloader'):
        image_size_from_config(Config(dict(model=dict())))


def test_input_shape_and_parse_shape():
    cfg = _cfg([dict(type='Resize', scale=64)], in_channels=1)
    assert input_shape_for(cfg) == (1, 64, 64)
    assert input_shape_for(cfg, [20]) == (1, 20, 20)
    assert input_shape_for(cfg, [20, 30]) == (1, 20, 30)
    assert parse_shape(None) is None
    for bad in ([], [1, 2, 3], [0], [-4, 4]):
        with pytest.raises(ValueError, match='--shape'):
            parse_shape(bad)


def test_load_and_build(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.py'):
        load_config(str(tmp_path / 'nothing.py'))
    path = tmp_path / 'tiny.py'
    path.write_text(
        "model = dict(type='ImageClassifier', backbone=dict("
        "type='SplitMixer', arch=dict(embed_dims=8, depth=1, "
        "patch_size=2, kernel_size=3)), neck=dict("
        "type='GlobalAveragePooling'), head=dict(type='LinearClsHead', "
        'num_classes=3, in_channels=8))\n')
    cfg = load_config(str(path), {'model.backbone.mixer_setting': 'IV'})
    model = build_model_from_config(cfg)
    assert type(model.backbone).__name__ == 'SplitMixer'
    assert model.backbone.mixer_setting == 'IV'
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(ValueError, match='no `model`'):
        load_config(str(empty))


def test_package_bases_resolve(tmp_path):
    path = tmp_path / 'derived.py'
    path.write_text("_base_ = ['mmsplitmix::splitmixer/"
                    "splitmixer-ii-256-8_1xb512_cifar10.py']\n"
                    "model = dict(backbone=dict(num_segments=4))\n")
    cfg = load_config(str(path))
    assert cfg.model.backbone.mixer_setting == 'II'
    assert cfg.model.backbone.num_segments == 4
    assert input_shape_for(cfg) == (3, 32, 32)


def test_installed_packages_configs_by_name():
    cfg = load_config('mmpretrain::convmixer/convmixer-768-32_10xb64_in1k.py')
    assert cfg.model.backbone == dict(
        type='ConvMixer', arch='768/32', act_cfg=dict(type='ReLU'))
    cfg = load_config('mmsplitmix::splitmixer/'
                      'splitmixer-i-768-32_10xb64_in1k.py')
    assert cfg.model.backbone.type == 'SplitMixer'
    with pytest.raises(FileNotFoundError, match='nowhere.py'):
        load_config('mmpretrain::convmixer/nowhere.py')


def test_load_errors_name_the_file(tmp_path):
    missing_base = tmp_path / 'missing_base.py'
    missing_base.write_text("_base_ = ['./nowhere.py']\n")
    with pytest.raises(
            FileNotFoundError, match=r"missing_base\.py'.*nowhere\.py"):
        load_config(str(missing_base))
    failing = tmp_path / 'failing.py'
    failing.write_text('model = dict(depth=undefined_name)\n')
    with pytest.raises(
            ValueError, match=r"failing\.py' could not be loaded: NameError"):
        load_config(str(failing))
    # a syntax error in a base ends the tool naming the base and the line
    (tmp_path / 'broken.py').write_text('model = dict(\n\nx = 1\n')
    derived = tmp_path / 'derived.py'
    derived.write_text("_base_ = ['./broken.py']\n")
    error = r"broken\.py' has a syntax error at line 1"
    with pytest.raises(SystemExit, match=error):
        load_config(str(derived))
