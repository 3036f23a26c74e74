import os

import pytest
import torch
from mmengine.config import Config

from mmsplitmix.utils import (WorkDirInUseError, archive_previous_run,
                              check_work_dir_unused, checkpoint_location,
                              find_resume_checkpoint)


def save(path, epoch):
    torch.save(
        dict(meta=dict(epoch=epoch), state_dict=dict(w=torch.ones(1))), path)


def test_checkpoint_location_follows_the_hook_config(tmp_path):
    cfg = Config(dict(work_dir=str(tmp_path / 'run')))
    assert checkpoint_location(cfg) == (str(tmp_path / 'run'), 'epoch_{}.pth')
    cfg.default_hooks = dict(
        checkpoint=dict(by_epoch=False, out_dir=str(tmp_path / 'out')))
    assert checkpoint_location(cfg) == (str(tmp_path / 'out' / 'run'),
                                        'iter_{}.pth')


def test_resume_takes_the_newest_checkpoint_that_loads(tmp_path, caplog):
    for epoch in (1, 2, 10):
        save(tmp_path / f'epoch_{epoch}.pth', epoch)
    (tmp_path / 'best_accuracy_top1_epoch_10.pth').write_bytes(b'')
    folder = str(tmp_path)
    # last_checkpoint first, even if not the highest number.
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_resume_checkpoint(folder, folder, 'epoch_{}.pth') == str(
        tmp_path / 'epoch_2.pth')
    # A pointer to a missing file, a truncated newest file: fall back.
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    newest = tmp_path / 'epoch_10.pth'
    newest.write_bytes(newest.read_bytes()[:100])
    assert find_resume_checkpoint(folder, folder, 'epoch_{}.pth') == str(
        tmp_path / 'epoch_2.pth')
    # Not a training checkpoint (no meta): skipped too.
    torch.save(dict(w=torch.ones(1)), tmp_path / 'epoch_2.pth')
    assert find_resume_checkpoint(folder, folder, 'epoch_{}.pth') == str(
        tmp_path / 'epoch_1.pth')
    for path in (tmp_path / 'epoch_1.pth', tmp_path / 'epoch_2.pth', newest):
        path.unlink()
    assert find_resume_checkpoint(folder, folder, 'epoch_{}.pth') is None


def test_a_used_work_dir_is_refused_and_can_be_archived(tmp_path):
    folder = str(tmp_path)
    (tmp_path / 'config.py').write_text('')
    check_work_dir_unused(folder, folder, 'epoch_{}.pth')  # logs only
    save(tmp_path / 'epoch_1.pth', 1)
    (tmp_path / 'best_accuracy_top1_epoch_1.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text('epoch_1.pth')
    with pytest.raises(WorkDirInUseError, match='--new-run'):
        check_work_dir_unused(folder, folder, 'epoch_{}.pth')
    moved_to = archive_previous_run(folder, folder, 'epoch_{}.pth', 'stamp')
    assert moved_to == str(tmp_path / 'previous_runs' / 'stamp')
    assert sorted(os.listdir(moved_to)) == [
        'best_accuracy_top1_epoch_1.pth', 'epoch_1.pth', 'last_checkpoint'
    ]
    assert sorted(os.listdir(tmp_path)) == ['config.py', 'previous_runs']
    check_work_dir_unused(folder, folder, 'epoch_{}.pth')
