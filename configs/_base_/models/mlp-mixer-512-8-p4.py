# The MLP-Mixer baseline of the SplitMixer paper for 32 x 32 images: width
# 512, 8 layers, token MLP 256, channel MLP 2048, 4 x 4 patches (about
# 17.1 M parameters with a 10-class head), with mmpretrain's MlpMixer.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='MlpMixer',
        arch=dict(
            embed_dims=512,
            num_layers=8,
            tokens_mlp_dims=256,
            channels_mlp_dims=2048),
        img_size=32,
        patch_size=4),
    neck=dict(type='GlobalAveragePooling', dim=1),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))
