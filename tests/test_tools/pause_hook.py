"""A hook for the resume tests: after the first epoch's checkpoint is saved,
one process writes its pid to a marker file and waits, so a test can kill it
at a known point of the schedule. It does not touch the model, data or
RNGs."""
import os
import time
from pathlib import Path

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class PauseAfterFirstEpochHook(Hook):
    """Wait (up to ``seconds``) after the checkpoint of epoch 1 is saved.

    Args:
        marker (str): File the pausing process writes its pid to once the
            pause begins.
        seconds (float): Longest pause. Defaults to 300.
        rank (int): Global rank of the process that pauses; the others go
            on and wait for it at their next collective. Defaults to 0.
    """

    priority = 'LOWEST'  # after CheckpointHook saved the checkpoint

    def __init__(self, marker, seconds=300.0, rank=0):
        self.marker = marker
        self.seconds = seconds
        self.rank = rank

    def after_train_epoch(self, runner):
        if runner.epoch != 0 or get_rank() != self.rank:
            return
        Path(self.marker).write_text(str(os.getpid()))
        time.sleep(self.seconds)
