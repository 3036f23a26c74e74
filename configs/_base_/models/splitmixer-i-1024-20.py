# SplitMixer-I 1024/20 for ImageNet-1k (patch 14, kernel 9).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SplitMixer',
        arch=dict(embed_dims=1024, depth=20, patch_size=14, kernel_size=9),
        mixer_setting='I',
        ratio=2 / 3,
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # PyTorch's default Linear initialisation, as in the original
        # code (LinearClsHead's default draws Normal(0, 0.01)).
        init_cfg=None,
        topk=(1, 5),
    ))
