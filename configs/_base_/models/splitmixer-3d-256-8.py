# SplitMixer with 3-D channel mixing, 256/8, for 32 x 32 images (patch 2,
# kernel 5): the original code's StrideMixer in the form its CIFAR notebook
# trains for ratio 2/3. A Conv3d slides over the channel axis with kernel
# int(256 * 2/3) = 170 and stride 256 - 170 = 86: two overlapping windows,
# channels [0, 170) and [86, 256), each seen by the same 128 filters, which
# give 128 x 2 = 256 output channels.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SplitMixer',
        arch=dict(embed_dims=256, depth=8, patch_size=2, kernel_size=5),
        mixer_setting='3D',
        channel_kernel_size=170,  # int(256 * 2/3); 3D takes no ratio
        channel_stride=86),  # 256 - 170
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
