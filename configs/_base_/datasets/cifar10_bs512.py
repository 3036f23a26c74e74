# CIFAR-10 with the SplitMixer paper's augmentation, 32 x 32 images.

dataset_type = 'LocalCIFAR10'  # mmpretrain's CIFAR10, never downloads
data_root = 'data/cifar10'
data_preprocessor = dict(
    num_classes=10,
    # (0.4914, 0.4822, 0.4465) and (0.2023, 0.1994, 0.2010), times 255.
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    # mmpretrain's CIFAR datasets give RGB images, as its CIFAR configs say.
    to_rgb=False)

train_pipeline = [
    # scale 1, ratio 1: the whole image, as the paper's RandomResizedCrop.
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(1.0, 1.0),
        aspect_ratio_range=(1.0, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # torchvision's RandAugment(2 ops, magnitude 12 of 31), the paper's
    dict(type='TorchvisionRandAugment', image_size=32),
    dict(type='PackInputs'),
]

test_pipeline = [
    # A no-op on CIFAR images; brings other images to the model's size.
    dict(type='Resize', scale=(32, 32)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=512,
    num_workers=4,
    # Workers stay alive from epoch to epoch; ReproducibleDataHook seeds
    # each sample, so that a resumed run still augments exactly alike.
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=512,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
