# Quick start: SplitMixer-I 256/8 with the paper's CIFAR recipe, trained on
# scikit-learn's handwritten digits exported as image folders by
#   python tools/dataset_converters/digits_to_imagefolder.py data/digits \
#       --size 16
# 1,438 training and 359 held-out 16 x 16 images in 10 classes.
_base_ = ['../splitmixer/splitmixer-i-256-8_1xb512_cifar10.py']

data_root = 'data/digits'
image_size = 16

# Mean and std of the training pixels, as printed by the command above.
data_preprocessor = dict(
    num_classes=10, mean=[78.88] * 3, std=[88.72] * 3, to_rgb=True)

# The paper's CIFAR augmentation at 16 px, without the horizontal flip: a
# mirrored digit is not the same digit.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=image_size,
        crop_ratio_range=(1.0, 1.0),
        aspect_ratio_range=(1.0, 1.0)),
    dict(type='TorchvisionRandAugment', image_size=16),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='PackInputs'),
]

# 16 px digits load and augment in a fraction of a training step, so the
# main process does it (no workers): on a small CPU machine every core then
# computes the model (the main process gets one thread per CPU not taken by
# a data worker).
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The recipe's lr of 0.05 is for batch 512; scaled linearly to batch 64.
optim_wrapper = dict(optimizer=dict(lr=0.05 * 64 / 512))
auto_scale_lr = dict(base_batch_size=64)

# The paper's lr shape (peak at 40 %, lr/20 at 80 %, 0 at the end) over a
# short run.
train_cfg = dict(max_epochs=15)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
randomness = dict(seed=0)
