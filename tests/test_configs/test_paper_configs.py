"""Every paper experiment is a config that loads, builds and runs."""
import copy
import re

import pytest
import torch
from mmpretrain.registry import DATASETS

from tests.paper_tables import EXPERIMENTS, IMAGENET_ARCHS, SMALL_DATASETS
from tests.test_configs.configs_testing import (PAPER_CONFIGS, REPO,
                                                build_model,
                                                config_input_shape,
                                                load_config,
                                                without_class_count)
from tests.test_tools.tools_testing import load_tool

NAME = re.compile(r'^(?P<model>[a-z0-9-]+)_(?P<gpus>\d+)xb(?P<batch>\d+)_'
                  r'(?P<dataset>cifar10|cifar100|flowers102|food101|in1k)$')
IDS = [path.stem for path in PAPER_CONFIGS]


def test_every_experiment_has_a_config():
    assert {path.stem for path in PAPER_CONFIGS} == EXPERIMENTS
    assert len(PAPER_CONFIGS) == len(EXPERIMENTS), 'one config per name'


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=IDS)
def test_config_builds_its_model(path):
    cfg = load_config(path)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mmsplitmix' in cfg.custom_imports['imports']
    assert cfg.custom_imports['allow_failed_imports'] is False

    match = NAME.match(path.stem)
    assert match, f'{path.stem} is not {{model}}_{{gpus}}xb{{batch}}_{{data}}'
    assert cfg.train_dataloader.batch_size == int(match['batch'])

    model = build_model(cfg)
    num_classes = cfg.model.head.num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    dataset_cls = DATASETS.get(cfg.test_dataloader.dataset.type)
    classes = dataset_cls.METAINFO.get('classes')
    assert classes is not None and len(classes) == num_classes
    assert model.head.fc.out_features == num_classes
    setup = SMALL_DATASETS.get(match['dataset'])
    size = setup.image_size if setup else 224
    assert config_input_shape(cfg) == (3, size, size)


# One model of each CIFAR-10 and CIFAR-100 pair: their networks differ in
# the number of classes alone.
CIFAR10_CONFIGS = [p for p in PAPER_CONFIGS if p.stem.endswith('_cifar10')]


def test_cifar100_networks_are_the_cifar10_ones():
    pairs = [(path, path.with_name(path.name.replace('_cifar10', '_cifar100')))
             for path in CIFAR10_CONFIGS]
    assert sum(other.is_file() for _, other in pairs) == 7  # all but MLP
    for path, other in pairs:
        if other.is_file():
            assert without_class_count(load_config(path)) == \
                without_class_count(load_config(other)), other.stem


@pytest.mark.parametrize(
    'path', CIFAR10_CONFIGS, ids=[p.stem for p in CIFAR10_CONFIGS])
def test_cifar_model_trains_and_predicts_a_tiny_batch(path):
    cfg = load_config(path)
    model = build_model(cfg)
    torch.manual_seed(0)
    inputs = torch.rand(2, 3, 32, 32)
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i) for i in range(2)]
    losses = model(inputs, samples, mode='loss')
    losses['loss'].backward()
    assert torch.isfinite(losses['loss'])
    model.eval()
    with torch.no_grad():
        preds = model(inputs, mode='predict')
    assert preds[0].pred_score.shape == (cfg.model.head.num_classes, )


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=IDS)
def test_architecture_follows_the_name(path):
    cfg = load_config(path)
    backbone = cfg.model.backbone
    model_name, dataset = path.stem.split('_')[0], path.stem.split('_')[-1]
    if model_name.startswith('mlp-mixer'):
        assert backbone.type == 'MlpMixer'
        assert backbone.arch == dict(
            embed_dims=512,
            num_layers=8,
            tokens_mlp_dims=256,
            channels_mlp_dims=2048)
        assert (backbone.patch_size, backbone.img_size) == (4, 32)
        return
    arch = backbone.arch
    if dataset == 'in1k':
        expected = IMAGENET_ARCHS[model_name]
    else:
        setup = SMALL_DATASETS[dataset]
        expected = (256, 8, setup.patch_size, setup.kernel_size)
    assert (arch.embed_dims, arch.depth, arch.patch_size,
            arch.kernel_size) == expected
    if model_name.startswith('convmixer'):
        assert backbone.type == 'ConvMixer'
        return
    assert backbone.type == 'SplitMixer'
    assert backbone.mixer_setting == model_name.split('-')[1].upper()
    if backbone.mixer_setting == '3D':
        # the original code's overlapping StrideMixer at ratio 2/3
        assert 'ratio' not in backbone
        assert backbone.channel_kernel_size == int(256 * 2 / 3)
        assert backbone.channel_stride == 256 - int(256 * 2 / 3)
    else:
        assert backbone.ratio == pytest.approx(2 / 3)
    act = backbone.get('act_cfg', dict(type='GELU'))['type']
    assert act == ('ReLU' if model_name == 'splitmixer-i-768-32' else 'GELU')


def assert_plain_optim_wrapper(wrapper_cfg):
    """mmpretrain's convention: the schedule builds a plain (fp32)
    OptimWrapper; mixed precision is ``tools/train.py --amp``."""
    from mmengine.optim import OptimWrapper, build_optim_wrapper
    assert wrapper_cfg.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert 'constructor' not in wrapper_cfg
    built = build_optim_wrapper(torch.nn.Linear(2, 2), wrapper_cfg.copy())
    assert type(built) is OptimWrapper


@pytest.mark.parametrize(
    'path', [p for p in PAPER_CONFIGS if not p.stem.endswith('in1k')],
    ids=[p.stem for p in PAPER_CONFIGS if not p.stem.endswith('in1k')])
def test_small_dataset_configs_follow_the_paper_recipe(path):
    cfg = load_config(path)
    lr = SMALL_DATASETS[path.stem.split('_')[-1]].lr
    wrapper = cfg.optim_wrapper
    assert_plain_optim_wrapper(wrapper)
    assert wrapper.optimizer == dict(type='AdamW', lr=lr, weight_decay=0.005)
    assert wrapper.clip_grad == dict(max_norm=1.0)
    assert cfg.train_cfg.max_epochs == 100
    (scheduler, ) = cfg.param_scheduler
    assert scheduler.type == 'PiecewiseLinearLR'
    assert [tuple(p) for p in scheduler.points] == [(0, 0), (0.4, 1),
                                                    (0.8, 0.05), (1, 0)]
    assert 'end' not in scheduler, 'end must follow train_cfg.max_epochs'
    assert scheduler.by_epoch and scheduler.convert_to_iter_based
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandomErasing' not in types and 'ColorJitter' not in types
    crop = next(t for t in cfg.train_dataloader.dataset.pipeline
                if t['type'] == 'RandomResizedCrop')
    assert crop['crop_ratio_range'] == crop['aspect_ratio_range'] == (1., 1.)
    assert cfg.train_dataloader.dataset.get('download', False) is False


def test_imagenet_configs_follow_mmpretrain_convmixer_recipe():
    epochs = {'768-32': 300, '1024-20': 150, '1536-20': 150}
    for arch, max_epochs in epochs.items():
        cfg = load_config(REPO / 'configs' / 'splitmixer' /
                          f'splitmixer-i-{arch}_10xb64_in1k.py')
        assert cfg.train_cfg.max_epochs == max_epochs
        assert_plain_optim_wrapper(cfg.optim_wrapper)
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.optim_wrapper.clip_grad == dict(max_norm=5.0)
        assert cfg.auto_scale_lr.base_batch_size == 640
        warmup, cosine = cfg.param_scheduler
        assert (warmup.type, warmup.end) == ('LinearLR', 20)
        assert cosine.type == 'CosineAnnealingLR' and 'end' not in cosine


def test_normalisation_matches_the_paper():
    stats = {
        'cifar10': ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
        'cifar100': ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
        'food101': ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        'flowers102': ((0.507, 0.487, 0.441), (0.267, 0.256, 0.276)),
    }
    for path in PAPER_CONFIGS:
        dataset = path.stem.split('_')[-1]
        if dataset not in stats:
            continue
        pre = load_config(path).data_preprocessor
        mean, std = stats[dataset]
        assert pre.mean == pytest.approx([255 * m for m in mean])
        assert pre.std == pytest.approx([255 * s for s in std])
        # mmpretrain's CIFAR datasets give RGB images (its CIFAR configs
        # say to_rgb=False too); image files are read in BGR order.
        assert pre.to_rgb is not dataset.startswith('cifar')


ORIGINAL_MODELS = [p for p in PAPER_CONFIGS if not p.stem.startswith('mlp')]


@pytest.mark.parametrize(
    'path', ORIGINAL_MODELS, ids=[p.stem for p in ORIGINAL_MODELS])
def test_head_keeps_pytorch_default_init_and_seed_is_42(path):
    """As the original code: nn.Linear's own initialisation, seed 42."""
    cfg = load_config(path)
    assert cfg.model.head.init_cfg is None
    assert cfg.randomness.seed == 42


def test_initialised_head_is_pytorch_default():
    """After init_weights (what the Runner calls), the classifier holds
    nn.Linear's U(-1/sqrt(in), 1/sqrt(in)) weights and biases, not
    LinearClsHead's Normal(0, 0.01) weights and zero biases."""
    cfg = load_config(REPO / 'configs' / 'splitmixer' /
                      'splitmixer-3d-256-8_1xb512_cifar100.py')
    torch.manual_seed(0)
    model = build_model(cfg)
    model.init_weights()
    fc = model.head.fc
    bound = 1 / fc.in_features**0.5
    for tensor in (fc.weight, fc.bias):
        assert tensor.abs().max() <= bound
        # uniform on [-b, b]: std b / sqrt(3), about 0.036 here, against
        # 0.01 for Normal(0, 0.01) and 0 for zero biases
        assert float(tensor.std()) == pytest.approx(bound / 3**0.5, rel=0.15)


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=IDS)
def test_config_tests_with_flip_tta(path, tmp_path, monkeypatch):
    """``tools/test.py --tta`` can add its flips to every config's test
    pipeline, and the result builds."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    test_tool = load_tool('test.py')
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args sets it
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.touch()
    _, args = test_tool.parse_args([str(path), str(checkpoint), '--tta'])
    cfg = test_tool.merge_args(copy.deepcopy(load_config(path)), args)
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[-1]['type'] == 'TestTimeAug'
    flips = pipeline[-1]['transforms'][0]
    assert [flip['prob'] for flip in flips] == [1., 0.]
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        Compose(pipeline)
