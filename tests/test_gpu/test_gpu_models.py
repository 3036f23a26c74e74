"""SplitMixer on CUDA: the same function as on the CPU for every channel
mixer setting, and channels-last memory format and torch.compile match the
eager model. Skipped without CUDA (see conftest.py)."""
import copy

import pytest
import torch

from mmsplitmix.models import SplitMixer
from mmsplitmix.models.speed_modes import to_channels_last

ARCH = dict(embed_dims=48, depth=4, patch_size=2, kernel_size=5)
#: Every setting of the channel mixer, the 1-D spatial trick and without
#: both tricks (ConvMixer's block). 'IV-unequal' has segments of 16, 16 and
#: 18 channels, so it never takes the grouped-conv path.
SETTINGS = {
    'I':
    dict(mixer_setting='I'),
    'II':
    dict(mixer_setting='II'),
    'III':
    dict(mixer_setting='III'),
    'IV':
    dict(mixer_setting='IV'),
    'IV-unequal':
    dict(mixer_setting='IV', num_segments=3, arch=dict(ARCH, embed_dims=50)),
    'V':
    dict(mixer_setting='V'),
    '3D':
    dict(mixer_setting='3D'),
    'tricks-off':
    dict(spatial_trick=False, channel_trick=False),
}


def build(name):
    kwargs = dict(arch=ARCH)
    kwargs.update(SETTINGS[name])
    torch.manual_seed(0)
    return SplitMixer(**kwargs)


def inputs(device, memory_format=torch.contiguous_format):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 16, 16, generator=generator)
    return x.to(device).contiguous(memory_format=memory_format)


def train_step(model, x):
    """Output and parameter gradients of a training-mode forward and
    backward; the BatchNorm statistics are updated as in training."""
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)[-1]
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(out.shape, generator=generator).to(out.device)
    (out * weight).sum().backward()
    module = getattr(model, '_orig_mod', model)  # the compiled model's
    grads = {
        name: param.grad.detach().float().cpu()
        for name, param in module.named_parameters()
    }
    return out.detach().float().cpu(), grads


def eval_forward(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)[-1].float().cpu()


def assert_close(actual, expected, rel, name='output'):
    """Largest difference within ``rel`` of the largest magnitude: sums over
    thousands of terms, taken in another order, differ by that much."""
    assert actual.shape == expected.shape, name
    scale = expected.abs().max().clamp_min(1e-6)
    error = (actual - expected).abs().max()
    assert error <= rel * scale, (
        f'{name}: largest difference {error:.3g} exceeds {rel:g} x '
        f'{scale:.3g}')


def assert_same(actual, expected, rel):
    out, grads = actual
    ref_out, ref_grads = expected
    assert_close(out, ref_out, rel)
    assert grads.keys() == ref_grads.keys()
    for name, grad in ref_grads.items():
        assert_close(grads[name], grad, rel, f'gradient of {name}')


@pytest.mark.parametrize('name', list(SETTINGS))
def test_cuda_matches_cpu(name, strict_fp32):
    cpu_model = build(name)
    cuda_model = copy.deepcopy(cpu_model).cuda()
    assert_same(
        train_step(cuda_model, inputs('cuda')),
        train_step(cpu_model, inputs('cpu')),
        rel=1e-4)
    cuda_buffers = dict(cuda_model.named_buffers())
    for key, value in cpu_model.named_buffers():
        assert_close(cuda_buffers[key].cpu().double(), value.double(), 1e-4,
                     key)
    assert_close(
        eval_forward(cuda_model, inputs('cuda')),
        eval_forward(cpu_model, inputs('cpu')),
        rel=1e-4)


@pytest.mark.parametrize('name', list(SETTINGS))
def test_channels_last_matches_eager(name, strict_fp32):
    eager = build(name).cuda()
    channels_last = to_channels_last(copy.deepcopy(eager))
    x_last = inputs('cuda', torch.channels_last)
    assert_same(
        train_step(channels_last, x_last),
        train_step(eager, inputs('cuda')),
        rel=1e-4)
    assert_close(
        eval_forward(channels_last, x_last),
        eval_forward(eager, inputs('cuda')),
        rel=1e-4)


@pytest.fixture
def fresh_dynamo():
    """A clean torch.compile cache with room for every model here."""
    import torch._dynamo
    saved = torch._dynamo.config.cache_size_limit
    torch._dynamo.reset()
    torch._dynamo.config.cache_size_limit = 64
    yield
    torch._dynamo.reset()
    torch._dynamo.config.cache_size_limit = saved


@pytest.mark.parametrize('name', list(SETTINGS))
def test_compile_matches_eager(name, strict_fp32, fresh_dynamo):
    eager = build(name).cuda()
    compiled = torch.compile(copy.deepcopy(eager))
    # Fused kernels round differently from the eager ones.
    assert_same(
        train_step(compiled, inputs('cuda')),
        train_step(eager, inputs('cuda')),
        rel=1e-3)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', list(SETTINGS))
def test_channels_last_under_autocast(name, dtype, strict_fp32):
    """Mixed-precision inference channels-last (``tools/test.py --amp
    --channels-last``) computes the fp32 function up to the rounding of
    the half-precision type."""
    eager = build(name).cuda()
    channels_last = to_channels_last(copy.deepcopy(eager))
    expected = eval_forward(eager, inputs('cuda'))
    with torch.autocast('cuda', dtype=dtype):
        out = eval_forward(channels_last, inputs('cuda', torch.channels_last))
    assert_close(out, expected, rel=3e-2)
