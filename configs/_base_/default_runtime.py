# Registries of mmpretrain; importing mmsplitmix registers SplitMixer, the
# learning-rate schedule, the hooks and the datasets.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmsplitmix'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook with crash-safe saving (temporary file,
    # fsync, rename; old checkpoints removed only after the new one is safe).
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# Data augmentation seeded by epoch and sample, data workers with one thread
# each (exact resumption, no CPU oversubscription); checkpoints and classes
# that fit the model and data.
custom_hooks = [
    dict(type='ReproducibleDataHook'),
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
# trained its ImageNet models, defaults to 42 too). The random streams still
# differ from the original's: other data loading and augmentation code draws
# from them. `--cfg-options randomness.seed=None` draws a fresh seed.
randomness = dict(seed=42, deterministic=False)
