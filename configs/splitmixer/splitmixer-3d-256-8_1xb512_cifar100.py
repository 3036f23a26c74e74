_base_ = [
    '../_base_/models/splitmixer-3d-256-8.py',
    '../_base_/datasets/cifar100_bs512.py',
    '../_base_/schedules/splitmixer_bs512_adamw_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))
