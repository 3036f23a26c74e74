# CIFAR-100: CIFAR-10's recipe with CIFAR-100's statistics.
_base_ = ['./cifar10_bs512.py']

dataset_type = 'LocalCIFAR100'  # mmpretrain's CIFAR100, never downloads
data_root = 'data/cifar100'
data_preprocessor = dict(
    num_classes=100,
    # (0.5071, 0.4867, 0.4408) and (0.2675, 0.2565, 0.2761), times 255.
    mean=[129.3105, 124.1085, 112.404],
    std=[68.2125, 65.4075, 70.4055])

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
