"""Data loading that a resumed run reproduces exactly, without CPU
oversubscription (see :mod:`mmsplitmix.datasets.workers`)."""
import torch
from mmengine.dataset import BaseDataset, DefaultSampler
from mmengine.device import get_device
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS

from mmsplitmix.datasets.workers import (SampleSeeding, available_cpus,
                                         main_process_threads, seed_all,
                                         stream_seed, user_set_threads)


def _sampler_of(dataloader):
    sampler = getattr(dataloader, 'sampler', None)
    if sampler is not None and hasattr(sampler, 'seed'):
        return sampler
    return getattr(getattr(dataloader, 'batch_sampler', None), 'sampler', None)


@HOOKS.register_module()
class ReproducibleDataHook(Hook):
    """Seed data loading by epoch and sample, and size the CPU thread pool.

    * Before each training epoch the main process's generators are reseeded
      from ``(seed, epoch, rank)``, and each training sample a data worker
      loads is augmented from its own stream seeded from ``(seed, epoch,
      sample index)`` (:class:`~mmsplitmix.datasets.workers.SampleSeeding`,
      inserted first in the training pipeline). A run resumed at an epoch
      boundary draws the random numbers of an uninterrupted run, with any
      number of workers, persistent or not. The sampler follows the run's
      seed, which a resumed run takes from its checkpoint.
    * Samples are seeded one by one in epoch-based training with mmengine's
      ``DefaultSampler`` over an mmengine ``BaseDataset`` (each sample drawn
      once an epoch, with its ``sample_idx``). Otherwise (an iteration-based
      loop, a sampler such as ``RepeatAugSampler``, a dataset wrapper)
      mmengine seeds the workers as they start, which reproduces a run only
      if they restart each epoch; with ``persistent_workers=True`` a warning
      says so.
    * On the CPU, unless ``OMP_NUM_THREADS`` is set, the main process
      computes with one thread per CPU left after one per data worker.
    """

    def __init__(self):
        self._threads_set = False
        self._seeding = None

    def _set_main_threads(self, runner, dataloader) -> None:
        if self._threads_set or get_device() != 'cpu':
            return
        self._threads_set = True
        workers = getattr(dataloader, 'num_workers', 0)
        if user_set_threads() is None:
            torch.set_num_threads(main_process_threads(workers))
        runner.logger.info(
            f'CPU threads: {torch.get_num_threads()} in the main process '
            f'({available_cpus()} CPUs, {workers} data workers; '
            'OMP_NUM_THREADS sets another number).')

    def before_train(self, runner) -> None:
        loader = runner.train_loop.dataloader
        self._set_main_threads(runner, loader)
        sampler = _sampler_of(loader)
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        if sampler is not None and not randomness.get('diff_rank_seed'):
            sampler.seed = runner.seed  # a resumed run's, from its checkpoint
        dataset = loader.dataset
        transforms = getattr(
            getattr(dataset, 'pipeline', None), 'transforms', None)
        if (isinstance(runner.train_loop, EpochBasedTrainLoop)
                and isinstance(sampler, DefaultSampler)
                and isinstance(dataset, BaseDataset)
                and isinstance(transforms, list)):
            seeding = [t for t in transforms if isinstance(t, SampleSeeding)]
            if not seeding:  # once: a second train() reuses it
                seeding = [SampleSeeding(runner.seed)]
                transforms.insert(0, seeding[0])
            self._seeding = seeding[0]
            self._seeding.seed = runner.seed
        elif loader.num_workers > 0 and loader.persistent_workers:
            runner.logger.warning(
                'train_dataloader.persistent_workers=True: the training '
                'samples cannot be seeded one by one here (this needs an '
                "epoch-based loop, mmengine's DefaultSampler and an mmengine "
                'BaseDataset), so a run resumed from a checkpoint will not '
                'augment exactly as an uninterrupted one. Set it to False '
                '(tools/train.py --no-persistent-workers) for that.')

    def before_train_epoch(self, runner) -> None:
        seed_all(stream_seed(runner.seed, runner.epoch, runner.rank, 0))
        if self._seeding is not None:
            self._seeding.epoch = runner.epoch  # read by the workers

    def before_val(self, runner) -> None:
        self._set_main_threads(runner, runner.val_loop.dataloader)

    def before_test(self, runner) -> None:
        self._set_main_threads(runner, runner.test_loop.dataloader)
