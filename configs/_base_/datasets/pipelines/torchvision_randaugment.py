# torchvision's RandAugment(num_ops=2, magnitude=12) (31 magnitude bins),
# the augmentation of the SplitMixer paper, written with mmpretrain's
# RandAugment.
#
# torchvision picks 2 of 14 ops uniformly and always applies them; an op's
# strength is bin 12 of a 31-bin scale, i.e. linspace(lo, hi, 31)[12] =
# lo + 12 / 30 * (hi - lo). mmpretrain computes
# lo + magnitude_level / total_level * (hi - lo) from each policy's
# magnitude_range, so magnitude_level=12, total_level=30 and torchvision's
# (lo, hi) per op give the same strengths:
#   Shear 0.3 (shear factor), Rotate 30 degrees,
#   Brightness/Color/Contrast/Sharpness factor 1 +/- 0.9 (each signed at
#   random, like torchvision's), Solarize threshold 255 -> 0.
# Posterize: torchvision keeps 8 - round(4 * level / 30) bits, mmpretrain
#   ceil(value); the range (7.5, 3.5) gives ceil(7.5 - 4 * level / 30), the
#   same number of bits for every integer level (6 at level 12).
# Translate: torchvision's strength is 150/331 of the image side, but it
#   shifts by int() of it, truncated toward 0: at level 12 of 30, int(2.90) =
#   2 px at 16 px, int(5.80) = 5 px at 32 px, int(40.60) = 40 px at 224 px.
#   mmpretrain shifts by a fraction of the side (and a fractional shift
#   resamples the image unevenly), so each image size has its own range,
#   the one whose level 12 is exactly the truncated shift:
#   (0, px / side * 30 / 12).
#   torchvision_randaugment_32px (CIFAR), _224px (Flowers102, Food101) and
#   _16px (the quick start's digits) differ in that range only.
# prob=1.0 on every op (mmpretrain's default is 0.5), magnitude_std=0 (no
# noise), fill 0 and nearest interpolation, as torchvision's defaults.
# torchvision's 'Identity' op is an op that never fires (prob=0).
torchvision_randaugment_32px = dict(
    type='RandAugment',
    policies=[
        dict(type='AutoContrast', prob=0.),  # plays torchvision's Identity
        dict(
            type='Shear',
            magnitude_range=(0, 0.3),
            direction='horizontal',
            prob=1.),
        dict(
            type='Shear',
            magnitude_range=(0, 0.3),
            direction='vertical',
            prob=1.),
        dict(
            type='Translate',
            magnitude_range=(0, 5 / 32 * 30 / 12),
            direction='horizontal',
            prob=1.),
        dict(
            type='Translate',
            magnitude_range=(0, 5 / 32 * 30 / 12),
            direction='vertical',
            prob=1.),
        dict(type='Rotate', magnitude_range=(0, 30), prob=1.),
        dict(type='Brightness', magnitude_range=(0, 0.9), prob=1.),
        dict(type='ColorTransform', magnitude_range=(0, 0.9), prob=1.),
        dict(type='Contrast', magnitude_range=(0, 0.9), prob=1.),
        dict(type='Sharpness', magnitude_range=(0, 0.9), prob=1.),
        dict(type='Posterize', magnitude_range=(7.5, 3.5), prob=1.),
        dict(type='Solarize', magnitude_range=(255, 0), prob=1.),
        dict(type='AutoContrast', prob=1.),
        dict(type='Equalize', prob=1.),
    ],
    num_policies=2,
    magnitude_level=12,
    magnitude_std=0.,
    total_level=30,
    hparams=dict(pad_val=0, interpolation='nearest'))
torchvision_randaugment_224px = dict(
    torchvision_randaugment_32px,
    policies=[
        dict(policy, magnitude_range=(0, 40 / 224 * 30 / 12))
        if policy['type'] == 'Translate' else policy
        for policy in torchvision_randaugment_32px['policies']
    ])
torchvision_randaugment_16px = dict(
    torchvision_randaugment_32px,
    policies=[
        dict(policy, magnitude_range=(0, 2 / 16 * 30 / 12))
        if policy['type'] == 'Translate' else policy
        for policy in torchvision_randaugment_32px['policies']
    ])
