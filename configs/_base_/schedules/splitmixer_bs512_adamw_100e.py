# The SplitMixer paper's schedule for batch 512 (CIFAR): AdamW, lr 0.05,
# weight decay 0.005, gradient-norm clip 1.0, 100 epochs. The paper trained
# with mixed precision: `tools/train.py --amp` does that on a GPU
# (mmengine's AmpOptimWrapper, dynamic loss scaling).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.005),
    clip_grad=dict(max_norm=1.0),
)

# lr: 0 -> 0.05 at 40 % of training -> 0.05 / 20 at 80 % -> 0 at the end,
# updated every iteration. `end` is left out: the Runner sets it to
# train_cfg.max_epochs, so a shorter run keeps the shape.
param_scheduler = [
    dict(
        type='PiecewiseLinearLR',
        points=[(0, 0), (0.4, 1), (0.8, 0.05), (1, 0)],
        by_epoch=True,
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# The lr above is for 1 GPU x 512 images; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=512)
