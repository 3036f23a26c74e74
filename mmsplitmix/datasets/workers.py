"""Random streams and CPU threads of data loading.

Reproducible random streams
    Every random number of a training run is drawn from streams seeded by
    ``(seed, epoch, rank, worker)``: each data worker of epoch ``e`` starts
    from :func:`stream_seed` ``(seed, e, rank, worker_id + 1)``, the main
    process is reseeded with ``(seed, e, rank, 0)`` at the start of the
    epoch. A run resumed from the checkpoint of epoch ``e`` therefore draws
    exactly the numbers an uninterrupted run draws from epoch ``e + 1`` on
    (same crops, flips and RandAugment ops), whatever happened before.
    mmengine's own seeding ignores the epoch, and persistent workers carry
    their random state from one epoch to the next, which a resumed run
    cannot reproduce: the training loader therefore restarts its workers at
    each epoch (``persistent_workers=False``).

CPU threads
    Each data worker computes with one thread (PyTorch, OpenCV, OpenMP and
    MKL), and on the CPU the main process leaves a core to each worker:
    :func:`main_process_threads`. Many thread pools on a few cores make
    every parallel region wait for descheduled threads; on two cores with
    two workers that made an iteration twenty times slower.
"""
import os
import random
from typing import Optional

import numpy as np
import torch

# Environment variables that size the thread pools of numeric libraries.
THREAD_ENV_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                   'OPENBLAS_NUM_THREADS')


def stream_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    """A 32-bit seed mixing the run's seed, the epoch, the rank and the
    stream (0: main process, ``k + 1``: data worker ``k``).

    Uses NumPy's ``SeedSequence`` hashing, so neighbouring inputs give
    unrelated streams.
    """
    entropy = [int(v) % (1 << 63) for v in (seed, epoch, rank, stream)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


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
