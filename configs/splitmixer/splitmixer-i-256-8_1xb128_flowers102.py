_base_ = [
    '../_base_/models/splitmixer-i-256-8.py',
    '../_base_/datasets/flowers102_bs128.py',
    '../_base_/schedules/splitmixer_bs128_adamw_100e.py',
    '../_base_/default_runtime.py',
]

# 224 x 224 images: patch 7, kernel 7.
model = dict(
    backbone=dict(arch=dict(patch_size=7, kernel_size=7)),
    head=dict(num_classes=102))
