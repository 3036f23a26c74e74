# Oxford 102 Flowers: Food-101's recipe with the Flowers statistics; trains
# on the train + val splits (mmpretrain's 'trainval'), tests on 'test'.
_base_ = ['./food101_bs128.py']

dataset_type = 'LocalFlowers102'  # mmpretrain's Flowers102, files checked
data_root = 'data/flowers102'
data_preprocessor = dict(
    num_classes=102,
    # (0.507, 0.487, 0.441) and (0.267, 0.256, 0.276), times 255.
    mean=[129.285, 124.185, 112.455],
    std=[68.085, 65.28, 70.38])

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
