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
#   Shear 0.3 (shear factor), Translate 150/331 of the image side,
#   Rotate 30 degrees, Brightness/Color/Contrast/Sharpness factor 1 +/- 0.9
#   (each signed at random, like torchvision's), Solarize threshold 255 -> 0.
# Posterize: torchvision keeps 8 - round(4 * level / 30) bits, mmpretrain
#   ceil(value); the range (7.5, 3.5) gives ceil(7.5 - 4 * level / 30), the
#   same number of bits for every integer level (6 at level 12).
# prob=1.0 on every op (mmpretrain's default is 0.5), magnitude_std=0 (no
# noise), fill 0 and nearest interpolation, as torchvision's defaults.
# torchvision's 'Identity' op is an op that never fires (prob=0).
torchvision_randaugment = dict(
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
            magnitude_range=(0, 150 / 331),
            direction='horizontal',
            prob=1.),
        dict(
            type='Translate',
            magnitude_range=(0, 150 / 331),
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
