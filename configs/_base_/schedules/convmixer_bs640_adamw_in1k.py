# The ImageNet-1k schedule of mmpretrain's ConvMixer configs: AdamW, lr 0.01
# for 10 GPUs x 64 images, weight decay 0.05 (none on norms and biases),
# gradient-norm clip 5.0, linear warm-up over 20 epochs, then cosine decay
# to 1e-5 until train_cfg.max_epochs (set by each config). The ConvMixer
# and SplitMixer ImageNet runs trained with mixed precision:
# `tools/train.py --amp` does that on a GPU.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=0.01, weight_decay=0.05, eps=1e-8,
        betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=5.0),
)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    # `end` (and so T_max) follows train_cfg.max_epochs.
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=20),
]

train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=640)
