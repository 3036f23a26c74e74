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
from mmsplitmix.apis import (NO_WEIGHTS_PREFIX, NoTrainedWeightsError,
                             find_resource, model_index_path,
                             no_weights_message, project_model_names,
                             register_model_index)
from mmsplitmix.datasets.categories import FLOWERS102_CATEGORIES
from tests.paper_tables import EXPERIMENTS

CIFAR_NAME = 'splitmixer-i-256-8_1xb512_cifar10'


def test_list_models():
    for family in ('splitmixer', 'convmixer-256-8', 'mlp-mixer-512'):
        assert list_models(f'{family}*') == sorted(
            name for name in EXPERIMENTS if name.startswith(family))


def test_resources_are_found_in_the_checkout():
    index = model_index_path()
    assert index is not None and index.name == 'model-index.yml'
    assert (find_resource('configs') / 'splitmixer').is_dir()
    names = project_model_names()
    assert len(names) == len(set(names)) and set(names) == EXPERIMENTS


def test_importing_twice_is_harmless():
    before = dict(ModelHub._models_dict)
    assert register_model_index() is False
    importlib.reload(mmsplitmix.apis)
    importlib.reload(mmsplitmix)
    assert ModelHub._models_dict.keys() == before.keys()
    assert list_models('splitmixer*') == sorted(
        name for name in EXPERIMENTS if name.startswith('splitmixer'))


def test_partial_clash_is_an_error(monkeypatch):
    names = project_model_names()
    clashing = {
        k: v
        for k, v in ModelHub._models_dict.items() if k != names[0]
    }
    monkeypatch.setattr(ModelHub, '_models_dict', clashing)
    with pytest.raises(ValueError, match='already in'):
        register_model_index()


def test_missing_index_warns(tmp_path):
    with pytest.warns(UserWarning, match='not found'):
        assert register_model_index(tmp_path / 'model-index.yml') is False


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
def test_pretrained_true_says_there_are_no_weights(name):
    with pytest.raises(NoTrainedWeightsError) as error:
        get_model(name, pretrained=True)
    message = str(error.value)
    assert message == no_weights_message(name)
    assert f'no trained weights exist for {name!r}' in message
    assert 'pretrained=PATH' in message and 'pretrained=False' in message
    assert error.value.name == name


def test_inferencers_default_to_pretrained_and_say_so(image):
    # mmpretrain's inferencers ask for the trained weights unless told not.
    with pytest.raises(NoTrainedWeightsError, match=CIFAR_NAME):
        ImageClassificationInferencer(CIFAR_NAME)
    with pytest.raises(NoTrainedWeightsError, match=CIFAR_NAME):
        inference_model(CIFAR_NAME, image)


def test_only_models_without_weights_get_the_marker():
    for name in project_model_names():
        assert ModelHub.get(name).weights == NO_WEIGHTS_PREFIX + name
    # mmpretrain's own models keep their published weights.
    assert ModelHub.get('resnet18_8xb16_cifar10').weights.startswith(
        'https://')


def test_paper_results_are_marked_in_the_model_metadata():
    for name in project_model_names():
        metainfo = ModelHub.get(name)
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


def test_inference_refuses_weights_that_do_not_fit(tmp_path):
    """get_model and inference_model load through mmengine's non-strict
    load_checkpoint; the backbone itself refuses weights of another
    architecture or setting instead of keeping random layers."""
    from mmpretrain import inference_model

    from mmsplitmix.utils import CheckpointMismatchError

    other = get_model('splitmixer-ii-256-8_1xb512_cifar10')
    path = tmp_path / 'setting_ii.pth'
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'stages\.0\.1\.mixer\.weight \(checkpoint '
            r'\[128, 128, 1, 1\], model \[170, 170, 1, 1\]\)'):
        get_model('splitmixer-i-256-8_1xb512_cifar10', pretrained=str(path))
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(CheckpointMismatchError, match='do not fit'):
        inference_model(
            'splitmixer-i-256-8_1xb512_cifar10', image, pretrained=str(path))
    # its own weights load
    model = get_model(
        'splitmixer-ii-256-8_1xb512_cifar10', pretrained=str(path))
    torch.testing.assert_close(model.backbone.stages[0][1].mixer.weight,
                               other.backbone.stages[0][1].mixer.weight)
