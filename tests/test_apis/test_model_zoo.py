"""The paper's experiments in mmpretrain's model zoo."""
import importlib

import cv2
import numpy as np
import pytest
import torch
from mmpretrain import (ImageClassificationInferencer, get_model,
                        inference_model, list_models)
from mmpretrain.apis import ModelHub
from mmpretrain.datasets.categories import CIFAR10_CATEGORIES

import mmsplitmix
from mmsplitmix.apis import (model_index_path, model_zoo, project_model_names,
                             register_model_index)
from mmsplitmix.datasets.categories import FLOWERS102_CATEGORIES
from tests.paper_tables import EXPERIMENTS

CIFAR_NAME = 'splitmixer-i-256-8_1xb512_cifar10'
NO_WEIGHTS_WARNING = 'Unable to find pre-defined checkpoint'


def test_list_models():
    for family in ('splitmixer', 'convmixer-256-8', 'mlp-mixer-512'):
        assert list_models(f'{family}*') == sorted(
            name for name in EXPERIMENTS if name.startswith(family))


def test_the_model_index_is_found():
    index = model_index_path()
    assert index is not None and index.name == 'model-index.yml'
    assert index.is_file()
    names = project_model_names()
    assert len(names) == len(set(names)) and set(names) == EXPERIMENTS
    assert project_model_names(index) == names


def test_registering_again_is_harmless():
    before = dict(ModelHub._models_dict)
    register_model_index()
    importlib.reload(mmsplitmix.apis)
    importlib.reload(mmsplitmix)
    assert ModelHub._models_dict.keys() == before.keys()
    for name in project_model_names():
        assert ModelHub._models_dict[name] is before[name]
    assert list_models('splitmixer*') == sorted(
        name for name in EXPERIMENTS if name.startswith('splitmixer'))


def test_partial_clash_is_an_error(monkeypatch):
    """Names taken by another model index are not silently skipped."""
    names = project_model_names()
    clashing = {
        k: v
        for k, v in ModelHub._models_dict.items() if k != names[0]
    }
    monkeypatch.setattr(ModelHub, '_models_dict', clashing)
    with pytest.raises(ValueError, match='already in mmpretrain'):
        register_model_index()


def test_missing_index_is_an_error(monkeypatch):
    monkeypatch.setattr(model_zoo, 'model_index_path', lambda: None)
    with pytest.raises(FileNotFoundError, match='model-index.yml is missing'):
        register_model_index()
    assert model_zoo.project_model_names() == []


@pytest.mark.parametrize('name', project_model_names())
def test_get_model_builds_every_name(name):
    model = get_model(name)
    metainfo = ModelHub.get(name)
    params = sum(p.numel() for p in model.parameters())
    assert params == metainfo.metadata.parameters
    assert model._dataset_meta['classes']
    assert len(model._dataset_meta['classes']) == \
        metainfo.config.model.head.num_classes


@pytest.fixture(scope='module')
def cifar_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = get_model(CIFAR_NAME)
    # Give the weights a recognisable value.
    with torch.no_grad():
        model.head.fc.bias.copy_(torch.arange(10.) * 10)
    path = tmp_path_factory.mktemp('ckpt') / 'splitmixer.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path, model


def test_get_model_with_pretrained_file(cifar_checkpoint):
    path, saved = cifar_checkpoint
    model = get_model(CIFAR_NAME, pretrained=str(path))
    for key, value in saved.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp('img') / 'image.png'
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, (48, 40, 3), np.uint8))
    return str(path)


def test_inference_model_with_pretrained_file(cifar_checkpoint, image):
    path, _ = cifar_checkpoint
    result = inference_model(CIFAR_NAME, image, pretrained=str(path))
    # The head bias makes the last class win whatever the image.
    assert result['pred_label'] == 9
    assert result['pred_class'] == CIFAR10_CATEGORIES[9] == 'truck'
    assert 0 < result['pred_score'] <= 1
    assert result['pred_scores'].shape == (10, )


def test_inference_model_uses_the_dataset_class_names(image):
    result = inference_model(
        'splitmixer-ii-256-8_1xb128_flowers102', image, pretrained=False)
    assert result['pred_class'] in FLOWERS102_CATEGORIES
    result = inference_model(
        'mlp-mixer-512-8-p4_1xb512_cifar10', image, pretrained=False)
    assert result['pred_class'] in CIFAR10_CATEGORIES


@pytest.mark.parametrize('name',
                         [CIFAR_NAME, 'convmixer-256-8_1xb512_cifar10'])
def test_pretrained_true_warns_and_keeps_random_weights(name):
    """No weights are published: as for any mmpretrain model without
    them, ``pretrained=True`` warns and returns the initialised model."""
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match=NO_WEIGHTS_WARNING):
        model = get_model(name, pretrained=True)
    torch.manual_seed(0)
    fresh = get_model(name)
    assert not model.training
    for key, value in fresh.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_inferencers_default_to_pretrained_and_warn(image):
    # mmpretrain's inferencers ask for the trained weights unless told not.
    with pytest.warns(UserWarning, match=NO_WEIGHTS_WARNING):
        inferencer = ImageClassificationInferencer(CIFAR_NAME)
    (result, ) = inferencer(image)
    assert result['pred_class'] in CIFAR10_CATEGORIES
    with pytest.warns(UserWarning, match=NO_WEIGHTS_WARNING):
        result = inference_model(CIFAR_NAME, image)
    assert result['pred_scores'].shape == (10, )


def test_registration_leaves_the_metainfo_as_the_index_says():
    # (the metainfo as registered; ModelHub.get would also read every
    # config)
    for name in project_model_names():
        assert ModelHub._models_dict[name].weights is None, name
    # mmpretrain's own models keep their published weights.
    assert ModelHub.get('resnet18_8xb16_cifar10').weights.startswith(
        'https://')


def test_paper_results_are_marked_in_the_model_metadata():
    for name in project_model_names():
        metainfo = ModelHub._models_dict[name]
        top1 = [
            result.metrics.get('Top 1 Accuracy') for result in metainfo.results
        ]
        mark = metainfo.metadata.data.get('Results Reported By')
        if any(value is not None for value in top1):
            assert mark == 'SplitMixer paper, not reproduced', name
            assert 'Reported in the SplitMixer paper' in \
                metainfo.data['Results Source']
        else:
            assert mark is None, name


def test_weights_of_another_setting_load_where_they_fit(tmp_path, capsys):
    """get_model and inference_model load through mmengine's non-strict
    load_checkpoint: the tensors that fit are loaded, the others keep
    their initialisation and are logged."""
    other = get_model('splitmixer-ii-256-8_1xb512_cifar10')
    with torch.no_grad():
        for param in other.parameters():
            param.add_(1)
    path = tmp_path / 'setting_ii.pth'
    torch.save({'state_dict': other.state_dict()}, path)
    torch.manual_seed(0)
    fresh = get_model(CIFAR_NAME)
    capsys.readouterr()
    torch.manual_seed(0)
    model = get_model(CIFAR_NAME, pretrained=str(path))
    logged = capsys.readouterr().out
    assert 'size mismatch for backbone.stages.0.1.mixer.weight' in logged
    mixer = 'backbone.stages.0.1.mixer.weight'
    assert model.state_dict()[mixer].shape == (170, 170, 1, 1)
    assert torch.equal(model.state_dict()[mixer], fresh.state_dict()[mixer])
    for key in ('backbone.stem.0.weight', 'backbone.stages.0.0.fn.0.weight',
                'head.fc.weight'):
        assert torch.equal(model.state_dict()[key],
                           other.state_dict()[key]), key
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    result = inference_model(CIFAR_NAME, image, pretrained=str(path))
    assert result['pred_scores'].shape == (10, )
    # a checkpoint of the same setting loads whole
    model = get_model(
        'splitmixer-ii-256-8_1xb512_cifar10', pretrained=str(path))
    for key, value in other.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
