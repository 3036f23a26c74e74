# Registries of mmpretrain; importing mmsplitmix registers SplitMixer, the
# datasets, the learning-rate schedule, the hooks and the checkpoint backend.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmsplitmix'], allow_failed_imports=False)

# The guarantees of a run, whatever runs this config (tools/train.py and
# test.py, mmpretrain's own tools, mim, Runner.from_cfg); see
# docs/guarantees.md.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Atomic saves: every checkpoint and last_checkpoint goes to a temporary
    # file that is flushed and renamed into place; outdated checkpoints are
    # removed only once the new one is safe ('atomic_local' file backend).
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # mmpretrain's VisualizationHook (test.py --show-dir), with each drawing
    # named after its image's path in the dataset and drawn in its colours
    visualization=dict(type='DatasetPathVisualizationHook', enable=False),
)
custom_hooks = [
    # Weights-only loading that allows the types of mmengine checkpoints
    # and refuses any other pickled object.
    dict(type='SafeLoadingHook'),
    # One run per work dir; resume from the newest readable checkpoint.
    dict(type='WorkDirHook'),
    # Augmentation seeded by (seed, epoch, sample): a resumed run is
    # bit-exact, with any number of data workers; one thread per worker.
    dict(type='ReproducibleDataHook'),
    # Checkpoints, classes and schedules that fit the model and the data.
    dict(type='ConsistencyCheckHook'),
]

env_cfg = dict(
    # Fixed input sizes: on a GPU, cuDNN times its convolution algorithms for
    # each shape once and keeps the fastest.
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
# Seed 42, as the original code (its CIFAR notebook; timm's train.py, which
# trained its ImageNet models, defaults to 42 too). `--cfg-options
# randomness.seed=None` draws a fresh seed.
randomness = dict(seed=42, deterministic=False)
