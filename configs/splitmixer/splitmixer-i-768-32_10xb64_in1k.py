_base_ = [
    '../_base_/models/splitmixer-i-768-32.py',
    '../_base_/datasets/imagenet_bs64_convmixer_224.py',
    '../_base_/schedules/convmixer_bs640_adamw_in1k.py',
    '../_base_/default_runtime.py',
]

# 300 epochs, as mmpretrain's ConvMixer-768-32 config.
train_cfg = dict(max_epochs=300)
