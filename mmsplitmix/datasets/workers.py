"""Random streams and CPU threads of data loading.

Reproducible random streams
    Every random number of a training run is drawn from streams seeded by
    the run's seed and the epoch:

    * the main process is reseeded with :func:`stream_seed`
      ``(seed, e, rank, 0)`` at the start of epoch ``e``;
    * in a data worker, each training sample is augmented from its own
      stream, :func:`sample_seed` ``(seed, e, index)``
      (:class:`SampleSeeding`), so that a sample's crops, flips and
      RandAugment ops depend on the seed, the epoch and the sample alone:
      not on which worker makes it, on how many workers or processes there
      are, nor on what the worker made before. Workers can therefore stay
      alive from epoch to epoch (``persistent_workers=True``) and a run
      resumed from the checkpoint of epoch ``e`` still draws exactly the
      numbers an uninterrupted run draws from epoch ``e + 1`` on;
    * other data workers (validation, testing, and training loaders whose
      samples cannot be seeded one by one) start from :func:`stream_seed`
      ``(seed, e, rank, worker_id + 1)`` (:class:`EpochWorkerInit`); such
      training workers reproduce a run only if they restart each epoch
      (``persistent_workers=False``).

    mmengine's own seeding ignores the epoch, and persistent workers carry
    their random state from one epoch to the next, which a resumed run
    cannot reproduce without per-sample streams.

CPU threads
    Each data worker computes with one thread (PyTorch, OpenCV, OpenMP and
    MKL), and on the CPU the main process leaves a core to each worker:
    :func:`main_process_threads`. Many thread pools on a few cores make
    every parallel region wait for descheduled threads; on two cores with
    two workers that made an iteration twenty times slower.
"""
import multiprocessing
import os
import random
from typing import Optional

import numpy as np
import torch
from torch.utils.data import get_worker_info

# Environment variables that size the thread pools of numeric libraries.
THREAD_ENV_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                   'OPENBLAS_NUM_THREADS')


def _hashed_seed(*values: int) -> int:
    """A 32-bit seed hashed from ``values`` with NumPy's ``SeedSequence``,
    so that neighbouring inputs give unrelated streams."""
    entropy = [int(v) % (1 << 63) for v in values]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def stream_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    """A 32-bit seed mixing the run's seed, the epoch, the rank and the
    stream (0: main process, ``k + 1``: data worker ``k``)."""
    return _hashed_seed(seed, epoch, rank, stream)


#: First entropy word of :func:`sample_seed`: keeps the per-sample streams
#: apart from the :func:`stream_seed` streams of the same run.
SAMPLE_STREAMS = 0x53414D50


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed for the augmentation of sample ``index`` of the dataset
    in ``epoch`` of the run seeded with ``seed``.

    The rank is left out: each sample is drawn by one process per epoch, so
    a run on any number of GPUs augments its samples alike.
    """
    return _hashed_seed(SAMPLE_STREAMS, seed, epoch, index)


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def limit_threads_in_this_process(threads: int = 1) -> None:
    """Size the thread pools of this process (a data worker): PyTorch's
    intra-op pool, OpenCV's, and, through the environment, those of any
    library or subprocess started later."""
    torch.set_num_threads(threads)
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)
    try:
        import cv2
    except ImportError:
        return
    # OpenCV: 0 runs every function in the calling thread.
    cv2.setNumThreads(0 if threads == 1 else threads)


class EpochWorkerInit:
    """``worker_init_fn`` of the data loaders: seeds the worker from
    ``(seed, epoch, rank, worker_id)`` and gives it one thread.

    The hook that installs it (``ReproducibleDataHook``) updates ``epoch``
    before each epoch's workers start.

    Args:
        seed (int): The run's seed.
        rank (int): The process rank.
        epoch (int): The epoch whose workers start next.
        threads (int): Threads per worker. Defaults to 1.
    """

    def __init__(self, seed: int, rank: int, epoch: int = 0, threads: int = 1):
        self.seed = seed
        self.rank = rank
        self.epoch = epoch
        self.threads = threads

    def __call__(self, worker_id: int) -> None:
        limit_threads_in_this_process(self.threads)
        seed_all(stream_seed(self.seed, self.epoch, self.rank, worker_id + 1))

    def __repr__(self):
        return (f'{type(self).__name__}(seed={self.seed}, rank={self.rank}, '
                f'epoch={self.epoch}, threads={self.threads})')


class SampleSeeding:
    """The first transform of a training pipeline: in a data worker, seeds
    Python's, NumPy's and PyTorch's CPU generators with
    :func:`sample_seed` ``(seed, epoch, results['sample_idx'])`` before the
    transforms that follow draw from them.

    ``ReproducibleDataHook`` inserts it into the training dataset's pipeline
    before the workers start and sets :attr:`epoch` before each epoch; the
    epoch lives in shared memory, so that workers which persist from epoch
    to epoch read the new value. In the main process (``num_workers=0``) it
    does nothing: the hook reseeds the main process at each epoch, and the
    model's own random draws (dropout, batch augments) keep their stream.

    Args:
        seed (int): The run's seed.
    """

    def __init__(self, seed: int):
        self.seed = seed
        # Shared with the workers, forked or spawned.
        self._epoch = multiprocessing.RawValue('q', 0)

    @property
    def epoch(self) -> int:
        """The epoch whose samples are loaded next."""
        return self._epoch.value

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch.value = int(value)

    def __call__(self, results: dict) -> dict:
        if get_worker_info() is None:
            return results
        index = results.get('sample_idx')
        if index is None:
            raise KeyError(
                'SampleSeeding: the sample has no \'sample_idx\' to seed '
                'its augmentation from (mmengine\'s BaseDataset.get_data_info '
                'adds it; a dataset overriding get_data_info must keep it)')
        seed = sample_seed(self.seed, self._epoch.value, index)
        random.seed(seed)
        np.random.seed(seed)
        # The CPU generator alone: torch.manual_seed would also seed the
        # accelerators' generators, at 100 times the cost.
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
    """``OMP_NUM_THREADS`` when the user set it to a positive int."""
    value = os.environ.get('OMP_NUM_THREADS', '').strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return None


def main_process_threads(num_workers: int, cpus: Optional[int] = None) -> int:
    """Intra-op threads for the main process of a CPU run: one core per
    data worker is left free, at least one thread is kept.

    Args:
        num_workers (int): Data workers of the training (or test) loader.
        cpus (int, optional): CPUs available. Defaults to
            :func:`available_cpus`.
    """
    cpus = available_cpus() if cpus is None else cpus
    return max(1, cpus - max(0, int(num_workers)))
