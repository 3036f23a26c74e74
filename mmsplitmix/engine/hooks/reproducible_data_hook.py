"""Data loading that a resumed run reproduces exactly, without CPU
oversubscription (see :mod:`mmsplitmix.datasets.workers`)."""
from functools import partial

from mmengine.dataset import BaseDataset, DefaultSampler
from mmengine.dataset.utils import worker_init_fn as mmengine_worker_init_fn
from mmengine.device import get_device
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS

from mmsplitmix.datasets.workers import (EpochWorkerInit, SampleSeeding,
                                         available_cpus, main_process_threads,
                                         seed_all, stream_seed,
                                         user_set_threads)


def _sampler_of(dataloader):
    sampler = getattr(dataloader, 'sampler', None)
    if sampler is not None and hasattr(sampler, 'seed'):
        return sampler
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    return getattr(batch_sampler, 'sampler', None)


def _replaceable(init_fn) -> bool:
    """Whether a loader's ``worker_init_fn`` is a default we may replace
    (none, mmengine's seeding, or ours)."""
    if init_fn is None or isinstance(init_fn, EpochWorkerInit):
        return True
    return (isinstance(init_fn, partial)
            and init_fn.func is mmengine_worker_init_fn)


def _seedable_pipeline(runner, dataloader):
    """The transforms list of the training pipeline when its samples can be
    seeded one by one, else None.

    That needs each sample to be drawn once per epoch: an epoch-based loop
    with mmengine's ``DefaultSampler`` (not, e.g., mmpretrain's
    ``RepeatAugSampler``, which draws each sample several times to augment
    it differently), over an mmengine ``BaseDataset``, whose samples carry
    their ``sample_idx`` (mmengine's dataset wrappers, such as
    ``RepeatDataset``, are not ``BaseDataset`` subclasses)."""
    dataset = getattr(dataloader, 'dataset', None)
    if not (isinstance(runner.train_loop, EpochBasedTrainLoop)
            and isinstance(_sampler_of(dataloader), DefaultSampler)
            and isinstance(dataset, BaseDataset)):
        return None
    transforms = getattr(
        getattr(dataset, 'pipeline', None), 'transforms', None)
    return transforms if isinstance(transforms, list) else None


@HOOKS.register_module()
class ReproducibleDataHook(Hook):
    """Seed data loading by epoch and sample, and size the CPU thread pools.

    * Before each training epoch the main process's generators (Python,
      NumPy, PyTorch) are reseeded from ``(seed, epoch, rank)``, and each
      training sample a data worker loads is augmented from its own stream,
      seeded from ``(seed, epoch, sample index)``
      (:class:`~mmsplitmix.datasets.workers.SampleSeeding`, inserted first
      in the training pipeline). A run resumed at an epoch boundary thus
      draws the same random numbers (data order, augmentation, dropout) as
      an uninterrupted run, with workers that persist from epoch to epoch
      or not, and whatever the number of workers. The sampler follows the
      run's seed, which a resumed run takes from its checkpoint.
    * Data workers of every loader compute with one thread each. On the
      CPU, unless ``OMP_NUM_THREADS`` is set, the main process uses one
      thread per CPU left after one per data worker.

    Samples are seeded one by one in epoch-based training with mmengine's
    ``DefaultSampler`` on an mmengine ``BaseDataset``. Otherwise (an
    iteration-based loop, another sampler, a dataset wrapper)
    the training workers are seeded from ``(seed, epoch, rank, worker)``
    when they start, which reproduces a run only if they restart each epoch:
    with ``persistent_workers=True`` a warning says that a resumed run's
    augmentation will differ. A ``worker_init_fn`` of the config's own is
    kept (then seeding such workers is up to it).
    """

    priority = 'NORMAL'

    def __init__(self, worker_threads: int = 1):
        if not isinstance(worker_threads, int) or worker_threads < 1:
            raise ValueError('ReproducibleDataHook: worker_threads must be a '
                             f'positive int, got {worker_threads!r}')
        self.worker_threads = worker_threads
        self._threads_set = False
        self._sample_seeding = None

    # -- threads -----------------------------------------------------------
    def _set_main_threads(self, runner, dataloader) -> None:
        if self._threads_set or get_device() != 'cpu':
            return
        self._threads_set = True
        import torch
        workers = getattr(dataloader, 'num_workers', 0)
        if user_set_threads() is not None:
            runner.logger.info(
                f'CPU threads: {torch.get_num_threads()} in the main process '
                '(OMP_NUM_THREADS), 1 per data worker.')
            return
        threads = main_process_threads(workers)
        torch.set_num_threads(threads)
        runner.logger.info(
            f'CPU threads: {threads} in the main process ({available_cpus()} '
            f'CPUs, {workers} data workers), {self.worker_threads} per data '
            'worker. Set OMP_NUM_THREADS to choose another number.')

    # -- seeding -----------------------------------------------------------
    def _install(self, runner, dataloader, epoch: int) -> None:
        """Give ``dataloader`` an :class:`EpochWorkerInit` for ``epoch``."""
        if dataloader is None or getattr(dataloader, 'num_workers', 0) == 0:
            return
        init_fn = dataloader.worker_init_fn
        if isinstance(init_fn, EpochWorkerInit):
            init_fn.seed, init_fn.epoch = runner.seed, epoch
        elif _replaceable(init_fn):
            dataloader.worker_init_fn = EpochWorkerInit(
                runner.seed, runner.rank, epoch, self.worker_threads)

    def before_train(self, runner) -> None:
        dataloader = runner.train_loop.dataloader
        self._set_main_threads(runner, dataloader)
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        sampler = _sampler_of(dataloader)
        if (sampler is not None and hasattr(sampler, 'seed')
                and not randomness.get('diff_rank_seed', False)
                and sampler.seed != runner.seed):
            # A resumed run takes the seed of its checkpoint; the sampler
            # was built before the checkpoint was read.
            sampler.seed = runner.seed
        transforms = _seedable_pipeline(runner, dataloader)
        if transforms is not None:
            self._sample_seeding = self._insert_sample_seeding(
                transforms, runner.seed)
            return
        self._sample_seeding = None
        if not _replaceable(dataloader.worker_init_fn):
            runner.logger.warning(
                'train_dataloader has its own worker_init_fn: its data '
                'workers are not reseeded by epoch, so a resumed run may '
                'augment differently from an uninterrupted one.')
        if dataloader.num_workers > 0 and dataloader.persistent_workers:
            runner.logger.warning(
                'train_dataloader.persistent_workers=True: the training '
                'samples cannot be seeded one by one here (this needs an '
                'epoch-based loop, mmengine\'s DefaultSampler and an mmengine '
                'BaseDataset), so workers '
                'keep their random state from epoch to epoch and a run '
                'resumed from a checkpoint will not augment exactly as an '
                'uninterrupted run. Set it to False (train.py: '
                '--no-persistent-workers) for exact resumption.')

    @staticmethod
    def _insert_sample_seeding(transforms: list, seed: int) -> SampleSeeding:
        """Put a :class:`SampleSeeding` for ``seed`` first in the training
        pipeline (once: a second ``Runner.train()`` reuses it)."""
        for transform in transforms:
            if isinstance(transform, SampleSeeding):
                transform.seed = seed
                return transform
        seeding = SampleSeeding(seed)
        transforms.insert(0, seeding)
        return seeding

    def before_train_epoch(self, runner) -> None:
        seed_all(stream_seed(runner.seed, runner.epoch, runner.rank, 0))
        if self._sample_seeding is not None:
            # Read by the workers, persistent or about to start.
            self._sample_seeding.epoch = runner.epoch
        self._install(runner, runner.train_loop.dataloader, runner.epoch)

    def before_val_epoch(self, runner) -> None:
        self._install(runner, runner.val_loop.dataloader, runner.epoch)

    def before_test(self, runner) -> None:
        self._set_main_threads(runner, runner.test_loop.dataloader)

    def before_test_epoch(self, runner) -> None:
        self._install(runner, runner.test_loop.dataloader, 0)

    def before_val(self, runner) -> None:
        # A run of Runner.val() alone.
        self._set_main_threads(runner, runner.val_loop.dataloader)
