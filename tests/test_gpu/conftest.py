"""GPU tests: every test in this folder needs CUDA and is skipped without
it (one rule, applied here to the whole folder).

The tool tests reuse the helpers of ``tests/test_tools/tools_testing.py``:
generated image folders and a tiny SplitMixer config, trained here with
non-deterministic CUDA kernels allowed (``deterministic=True`` makes PyTorch
refuse the CUDA backward of adaptive average pooling).
"""
from pathlib import Path

import pytest
import torch

from tests.test_gpu.gpu_testing import (GPU_TESTS_DIR, custom_hooks_with,
                                        run_gpu_tool)
from tests.test_tools.tools_testing import TOOLS, tiny_config_text

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA GPU')


def pytest_collection_modifyitems(config, items):
    for item in items:
        if GPU_TESTS_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(requires_cuda)


@pytest.fixture(scope='session')
def gpu_config(tiny_data, tmp_path_factory):
    """The tiny config, with the runtime's hooks; each run records how it
    ran (see record_hook.py) in ``<work_dir>/run_record.json``."""
    folder = tmp_path_factory.mktemp('gpu_configs')
    base = folder / 'tiny_splitmixer.py'
    base.write_text(tiny_config_text(tiny_data))
    config = folder / 'tiny_splitmixer_cuda.py'
    config.write_text(f'_base_ = [{str(base)!r}]\n'
                      "custom_imports = dict(imports=['mmsplitmix', "
                      "'tests.test_gpu.record_hook'], "
                      'allow_failed_imports=False)\n'
                      f'{custom_hooks_with(dict(type="RecordRunHook"))}\n'
                      'randomness = dict(seed=0, deterministic=False)\n')
    return config


@pytest.fixture(scope='session')
def cuda_trained(gpu_config, tmp_path_factory):
    """One uninterrupted three-epoch CUDA run with --amp (float16)."""
    work_dir = tmp_path_factory.mktemp('cuda_trained')
    proc = run_gpu_tool(
        [TOOLS / 'train.py', gpu_config, '--work-dir', work_dir, '--amp'])
    return dict(work_dir=work_dir, output=proc.stdout + proc.stderr)


@pytest.fixture
def strict_fp32():
    """Full fp32 on CUDA (no TF32) while a test compares with the CPU."""
    saved = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    (torch.backends.cudnn.allow_tf32,
     torch.backends.cuda.matmul.allow_tf32) = saved
