"""torchvision's RandAugment, the augmentation of the SplitMixer paper,
written with mmpretrain's RandAugment and its ops."""
from mmpretrain.datasets.transforms import RandAugment
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class TorchvisionRandAugment(RandAugment):
    """mmpretrain's ``RandAugment`` set up as torchvision's
    ``RandAugment(num_ops, magnitude, num_magnitude_bins)`` for square
    images of ``image_size`` pixels: the same 14 ops, picked uniformly and
    always applied, at the same strengths.

    torchvision takes level ``magnitude`` of ``num_magnitude_bins`` bins
    from ``linspace(low, high, bins)``; mmpretrain computes
    ``low + level / total_level * (high - low)``, so ``total_level = bins -
    1`` and torchvision's ranges give the same strengths: shear 0.3, rotate
    30 degrees, brightness, colour, contrast and sharpness 1 +/- 0.9 (signed
    at random), solarize 255 -> 0. Posterize keeps ``8 - round(4 * level /
    30)`` bits in torchvision and ``ceil(value)`` in mmpretrain: the range
    (7.5, 3.5) gives the same bits at every level. Translate shifts by
    ``int(150 / 331 * side * level / 30)`` pixels in torchvision, truncated,
    and by a fraction of the side in mmpretrain: its range is chosen so
    that the level gives that whole number of pixels (a fractional shift
    would resample the image). torchvision's Identity is an op that never
    fires. Fill 0 and nearest interpolation, torchvision's defaults.

    Args:
        image_size (int): The side of the images, in pixels.
        num_ops (int): Ops applied to each image. Defaults to 2.
        magnitude (int): Strength level. Defaults to 12, the paper's.
        num_magnitude_bins (int): Levels of the scale. Defaults to 31.
    """

    def __init__(self,
                 image_size: int,
                 num_ops: int = 2,
                 magnitude: int = 12,
                 num_magnitude_bins: int = 31):
        if not isinstance(image_size, int) or image_size < 1:
            raise ValueError(
                f'image_size must be a positive int, got {image_size!r}')
        levels = num_magnitude_bins - 1
        shift = int(150 / 331 * image_size * magnitude / levels)
        translate = (0, shift / image_size * levels / max(magnitude, 1))
        policies = [dict(type='AutoContrast', prob=0.)]  # Identity
        for op, kwargs in (('Shear', dict(magnitude_range=(0, 0.3))),
                           ('Translate', dict(magnitude_range=translate))):
            policies += [
                dict(type=op, direction=direction, **kwargs)
                for direction in ('horizontal', 'vertical')
            ]
        policies += [
            dict(type='Rotate', magnitude_range=(0, 30)),
            dict(type='Brightness', magnitude_range=(0, 0.9)),
            dict(type='ColorTransform', magnitude_range=(0, 0.9)),
            dict(type='Contrast', magnitude_range=(0, 0.9)),
            dict(type='Sharpness', magnitude_range=(0, 0.9)),
            dict(type='Posterize', magnitude_range=(7.5, 3.5)),
            dict(type='Solarize', magnitude_range=(255, 0)),
            dict(type='AutoContrast'),
            dict(type='Equalize'),
        ]
        for policy in policies[1:]:
            policy['prob'] = 1.
        super().__init__(
            policies=policies,
            num_policies=num_ops,
            magnitude_level=magnitude,
            magnitude_std=0.,
            total_level=levels,
            hparams=dict(pad_val=0, interpolation='nearest'))
        self.image_size = image_size

    def __repr__(self):
        return (f'{type(self).__name__}(image_size={self.image_size}, '
                f'num_ops={self.num_policies}, magnitude='
                f'{self.magnitude_level}, num_magnitude_bins='
                f'{self.total_level + 1})')
