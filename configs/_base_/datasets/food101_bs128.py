# Food-101 with the SplitMixer paper's augmentation, 224 x 224 images.

dataset_type = 'LocalFood101'  # mmpretrain's Food101, files checked first
data_root = 'data/food101'
data_preprocessor = dict(
    num_classes=101,
    # (0.485, 0.456, 0.406) and (0.229, 0.224, 0.225), times 255.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(230, 230), backend='pillow'),
    # scale 1, ratio 1: the whole 230 x 230 image, resized to 224.
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(1.0, 1.0),
        aspect_ratio_range=(1.0, 1.0),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # torchvision's RandAugment(2 ops, magnitude 12 of 31), the paper's
    dict(type='TorchvisionRandAugment', image_size=224),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224), backend='pillow'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
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
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
