"""Random streams and CPU threads of data loading.

Every random number of a training run is drawn from streams seeded by the
run's seed and the epoch: the main process is reseeded with
:func:`stream_seed` ``(seed, epoch, rank, 0)`` at each epoch, and in a data
worker each training sample is augmented from its own stream,
:func:`sample_seed` ``(seed, epoch, index)`` (:class:`SampleSeeding`). A
sample's crops, flips and RandAugment ops thus depend on the seed, the epoch
and the sample alone: not on which worker makes it, how many there are, or
what the worker made before. Workers can persist from epoch to epoch, and a
run resumed after epoch ``e`` draws exactly what an uninterrupted run draws
from epoch ``e + 1`` on.
"""
import multiprocessing
import os
import random
from typing import Optional

import numpy as np
import torch
from torch.utils.data import get_worker_info

#: First entropy word of :func:`sample_seed`: keeps the per-sample streams
#: apart from the :func:`stream_seed` streams of the same run.
SAMPLE_STREAMS = 0x53414D50


def _hashed_seed(*values: int) -> int:
    """A 32-bit seed hashed from ``values`` with NumPy's ``SeedSequence``,
    so that neighbouring inputs give unrelated streams."""
    entropy = [int(v) % (1 << 63) for v in values]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def stream_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    """The seed of a process's stream (``stream`` 0: the main process)."""
    return _hashed_seed(seed, epoch, rank, stream)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of sample ``index``'s augmentation in ``epoch``; the rank is
    left out, so a run on any number of GPUs augments its samples alike."""
    return _hashed_seed(SAMPLE_STREAMS, seed, epoch, index)


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class SampleSeeding:
    """The first transform of a training pipeline: in a data worker, seeds
    Python's, NumPy's and PyTorch's CPU generators with :func:`sample_seed`
    ``(seed, epoch, results['sample_idx'])`` for the transforms after it.

    ``ReproducibleDataHook`` inserts it and sets :attr:`epoch` before each
    epoch; the epoch lives in shared memory, so that persistent workers read
    the new value. In the main process (``num_workers=0``) it does nothing:
    the hook reseeds the main process at each epoch.

    Args:
        seed (int): The run's seed.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._epoch = multiprocessing.RawValue('q', 0)  # forked or spawned

    @property
    def epoch(self) -> int:
        return self._epoch.value

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch.value = int(value)

    def __call__(self, results: dict) -> dict:
        if get_worker_info() is None:
            return results
        if results.get('sample_idx') is None:
            raise KeyError(
                "SampleSeeding: the sample has no 'sample_idx' to seed its "
                "augmentation from (mmengine's BaseDataset.get_data_info adds "
                'it; a dataset overriding get_data_info must keep it)')
        seed = sample_seed(self.seed, self.epoch, results['sample_idx'])
        random.seed(seed)
        np.random.seed(seed)
        # the CPU generator alone: torch.manual_seed would also seed every
        # accelerator's, at 100 times the cost
        torch.default_generator.manual_seed(seed)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(seed={self.seed}, epoch={self.epoch})'


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def user_set_threads() -> Optional[int]:
    """``OMP_NUM_THREADS`` when set to a positive int."""
    value = os.environ.get('OMP_NUM_THREADS', '').strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def main_process_threads(num_workers: int, cpus: Optional[int] = None) -> int:
    """Threads for the main process of a CPU run: one CPU left to each data
    worker, at least one thread. Many thread pools on a few cores make every
    parallel region wait for descheduled threads (on two cores with two
    workers, a step took twenty times longer)."""
    cpus = available_cpus() if cpus is None else cpus
    return max(1, cpus - max(0, int(num_workers)))
