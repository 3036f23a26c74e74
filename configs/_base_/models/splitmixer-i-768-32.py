# SplitMixer-I 768/32 for ImageNet-1k (patch 7, kernel 7, ReLU activations).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SplitMixer',
        arch=dict(embed_dims=768, depth=32, patch_size=7, kernel_size=7),
        mixer_setting='I',
        ratio=2 / 3,
        act_cfg=dict(type='ReLU'),
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # PyTorch's default Linear initialisation, as in the original
        # code (LinearClsHead's default draws Normal(0, 0.01)).
        init_cfg=None,
        topk=(1, 5),
    ))
