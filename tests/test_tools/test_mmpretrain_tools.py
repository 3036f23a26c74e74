"""mmpretrain's own tools/train.py and tools/test.py on a config of ours:
the guarantees come with the config."""
import os
from pathlib import Path

import mmpretrain
import pytest
import torch

from tests.test_tools.tools_testing import run_tool

MMPRETRAIN_TOOLS = Path(mmpretrain.__file__).parent / '.mim' / 'tools'


@pytest.mark.slow
@pytest.mark.skipif(
    not (MMPRETRAIN_TOOLS / 'train.py').is_file(),
    reason='this mmpretrain install ships no tools')
def test_train_resume_and_test_with_mmpretrain_tools(tiny_config, tmp_path):
    work_dir = tmp_path / 'work'
    one_epoch = ['--cfg-options', 'train_cfg.max_epochs=1']
    train = [
        MMPRETRAIN_TOOLS / 'train.py', tiny_config, '--work-dir', work_dir
    ]
    run_tool(train + one_epoch)
    # mmengine's checkpoint, with its logging buffers, loads weights-only
    resumed = run_tool(train + ['--resume'] + one_epoch)
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    tested = run_tool([
        MMPRETRAIN_TOOLS / 'test.py', tiny_config, work_dir / 'epoch_1.pth',
        '--work-dir', work_dir, '--show-dir', tmp_path / 'shown'
    ])
    assert 'accuracy/top1' in tested.stdout + tested.stderr
    # drawings named after their paths in the dataset: none overwritten
    assert (tmp_path / 'shown' / 'red' / '0.png_0.png').is_file()
    assert (tmp_path / 'shown' / 'blue' / '0.png_0.png').is_file()

    marker = tmp_path / 'ran'
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=False)
    checkpoint['meta']['note'] = Payload(marker)
    torch.save(checkpoint, tmp_path / 'trap.pth')
    refused = run_tool([
        MMPRETRAIN_TOOLS / 'test.py', tiny_config, tmp_path / 'trap.pth',
        '--work-dir', work_dir
    ],
                       check=False)
    assert refused.returncode != 0
    assert 'UnsafeCheckpointError' in refused.stderr
    assert 'posix.system' in refused.stderr
    assert not marker.exists()


class Payload:
    """Pickles as a call of ``os.system``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))
