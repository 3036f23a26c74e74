# SplitMixer-I 256/8 for 32 x 32 images (patch 2, kernel 5). Channel mixing:
# block i mixes 2/3 of the channels, the first ones in even blocks and the
# last ones in odd blocks.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SplitMixer',
        arch=dict(embed_dims=256, depth=8, patch_size=2, kernel_size=5),
        mixer_setting='I',
        ratio=2 / 3,
        num_segments=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # PyTorch's default Linear initialisation, as in the original
        # code (LinearClsHead's default draws Normal(0, 0.01)).
        init_cfg=None,
    ))
