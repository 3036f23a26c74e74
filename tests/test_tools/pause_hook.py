"""A hook for the resume test: after the first epoch's checkpoint is saved,
it writes a marker file and waits, so the test can kill the process at a
known point of the schedule. It does not touch the model, data or RNGs."""
import time
from pathlib import Path

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class PauseAfterFirstEpochHook(Hook):
    """Wait (up to ``seconds``) after the checkpoint of epoch 1 is saved.

    Args:
        marker (str): File written once the pause begins.
        seconds (float): Longest pause. Defaults to 300.
    """

    priority = 'LOWEST'  # after CheckpointHook saved the checkpoint

    def __init__(self, marker, seconds=300.0):
        self.marker = marker
        self.seconds = seconds

    def after_train_epoch(self, runner):
        if runner.epoch != 0:
            return
        Path(self.marker).write_text('paused')
        time.sleep(self.seconds)
