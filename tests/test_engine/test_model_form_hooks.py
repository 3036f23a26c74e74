"""ChannelsLastHook, CompiledBackboneHook and FastInferenceHook on small
classifiers (FastInferenceHook's deploy form on mmpretrain's RepVGG:
SplitMixer has none)."""
import copy
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import HOOKS, MODELS

import mmsplitmix  # noqa: F401
from mmsplitmix.engine import (ChannelsLastHook, CompiledBackboneHook,
                               FastInferenceHook)
from mmsplitmix.models.speed_modes import compile_backbone, deployable_modules


def build_classifier(backbone, embed_dims=12, depth=2):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(
                    arch=dict(
                        embed_dims=embed_dims,
                        depth=depth,
                        patch_size=2,
                        kernel_size=3),
                    **backbone),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead',
                    num_classes=3,
                    in_channels=embed_dims),
                data_preprocessor=dict(
                    type='ClsDataPreprocessor', mean=[0.] * 3, std=[1.] * 3)))
    return model.eval()


def fake_runner(model):
    return SimpleNamespace(model=model, logger=logging.getLogger('test'))


def predict(model, images):
    data = model.data_preprocessor(dict(inputs=list(images)), False)
    with torch.no_grad():
        return model(data['inputs'], mode='tensor')


@pytest.mark.parametrize('backbone', [
    dict(type='SplitMixer', mixer_setting='I'),
    dict(type='SplitMixer', mixer_setting='3D'),
    dict(type='ConvMixer'),
])
def test_channels_last_hook(backbone):
    torch.manual_seed(0)
    model = build_classifier(backbone)
    fast = copy.deepcopy(model)
    ChannelsLastHook().before_run(fake_runner(fast))
    assert fast.head.fc.weight.dim() == 2  # other ranks untouched
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    data = fast.data_preprocessor(
        dict(inputs=[torch.rand(3, 8, 8) * 255]), False)
    assert data['inputs'].is_contiguous(memory_format=torch.channels_last)
    images = torch.rand(4, 3, 8, 8) * 255
    torch.testing.assert_close(
        predict(fast, images), predict(model, images), rtol=1e-4, atol=1e-5)


def train_steps(model, steps=2):
    """AdamW steps on a fixed batch; the losses."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(3, 3, 4, 4, generator=generator)
    targets = torch.tensor([0, 1, 2])
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(
            model.data_preprocessor(dict(inputs=list(images)), True)['inputs'],
            mode='tensor')
        loss = torch.nn.functional.cross_entropy(logits, targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses)


def test_compiled_backbone_hook_trains_the_same_model():
    """The backbone is compiled in before_train, forward and backward; the
    state dict keeps its keys and training gives the same losses and
    weights (the second step checks that the compiled graph reads the
    updated weights, and the BatchNorm statistics are updated).

    The AOTAutograd graphs run eagerly ('aot_eager'): the capture of the
    forward and backward is the default one, without the C++ code that
    inductor would write and compile for half a minute on CPU (the GPU
    tests train with inductor)."""
    torch.manual_seed(0)
    model = build_classifier(
        dict(type='SplitMixer', mixer_setting='II'), embed_dims=4, depth=1)
    compiled = copy.deepcopy(model)
    keys = set(compiled.state_dict())
    plain_forward = compiled.backbone.forward
    hook = CompiledBackboneHook(backend='aot_eager')
    hook.before_train(fake_runner(compiled))
    assert compiled.backbone.forward != plain_forward
    assert set(compiled.state_dict()) == keys
    torch.testing.assert_close(
        train_steps(compiled), train_steps(model), rtol=1e-4, atol=1e-5)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(
            compiled.state_dict()[key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_compile_options_are_checked_early():
    with pytest.raises(
            TypeError,
            match=r"torch.compile has no option 'mdoe'; it takes .*mode"):
        CompiledBackboneHook(mdoe='max-autotune')
    with pytest.raises(TypeError, match="no option 'fast'"):
        FastInferenceHook(deploy=False, compile=dict(fast=True))
    with pytest.raises(TypeError, match="no option 'full_graph'"):
        compile_backbone(torch.nn.Linear(2, 2), full_graph=True)
    hook = CompiledBackboneHook(mode='reduce-overhead', dynamic=False)
    assert hook.options == dict(mode='reduce-overhead', dynamic=False)
    assert HOOKS.get('CompiledBackboneHook') is CompiledBackboneHook


def test_compile_backbone_of_a_model_without_one():
    module = torch.nn.Linear(2, 2)
    plain_forward = module.forward
    assert compile_backbone(module, backend='eager') is module
    assert module.forward != plain_forward
    assert set(module.state_dict()) == {'weight', 'bias'}
    inputs = torch.rand(3, 2)
    torch.testing.assert_close(
        module(inputs), inputs @ module.weight.T + module.bias)


def test_fast_inference_hook_compiles_for_testing():
    torch.manual_seed(0)
    model = build_classifier(dict(type='SplitMixer'))
    fast = copy.deepcopy(model)
    keys = set(fast.state_dict())
    plain_forward = fast.backbone.forward
    # the dynamo graph run eagerly: what is tested is where the hook
    # compiles, not the code inductor writes
    hook = FastInferenceHook(deploy=False, compile=dict(backend='eager'))
    hook.before_run(fake_runner(fast))
    assert fast.backbone.forward == plain_forward  # not loaded yet
    hook.before_test(fake_runner(fast))
    assert fast.backbone.forward != plain_forward
    assert set(fast.state_dict()) == keys
    images = torch.rand(3, 3, 8, 8) * 255
    torch.testing.assert_close(
        predict(fast, images), predict(model, images), rtol=1e-4, atol=1e-5)


def test_fast_inference_hook_fuses_the_loaded_weights():
    """mmengine's Runner.test() calls ``before_run``, loads ``load_from``,
    then calls ``before_test``. A deploy form that fuses its weights into
    others (RepVGG's) must fuse the loaded weights, and the checkpoint of
    the ordinary form must load."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(
                    type='RepVGG',
                    arch=dict(
                        num_blocks=[1, 1, 1, 1],
                        width_factor=[0.25] * 4,
                        group_layer_map=None,
                        se_cfg=None)),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead', num_classes=3, in_channels=128),
                data_preprocessor=dict(
                    type='ClsDataPreprocessor', mean=[0.] * 3,
                    std=[1.] * 3))).eval()
    checkpoint = copy.deepcopy(model.state_dict())
    tested = copy.deepcopy(model)
    for param in tested.parameters():
        param.data.zero_()  # not yet loaded
    hook = FastInferenceHook()
    hook.before_run(fake_runner(tested))
    tested.load_state_dict(checkpoint)
    hook.before_test(fake_runner(tested))
    assert tested.backbone.deploy
    images = torch.rand(2, 3, 32, 32) * 255
    torch.testing.assert_close(
        predict(tested, images), predict(model, images), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('backbone', ['SplitMixer', 'ConvMixer'])
def test_fast_inference_hook_refuses_a_model_without_deploy_form(backbone):
    model = build_classifier(dict(type=backbone))
    assert deployable_modules(model) == []
    with pytest.raises(
            ValueError, match=rf'backbone {backbone}\) has no deploy form'):
        FastInferenceHook().before_run(fake_runner(model))
    FastInferenceHook(deploy=False).before_run(fake_runner(model))


def test_fast_inference_hook_errors():
    with pytest.raises(TypeError, match='deploy must be a bool'):
        FastInferenceHook(deploy='yes')
    with pytest.raises(TypeError, match='compile must be'):
        FastInferenceHook(compile='max')
    assert HOOKS.get('FastInferenceHook') is FastInferenceHook
    assert HOOKS.get('ChannelsLastHook') is ChannelsLastHook
