"""The configs' TorchvisionRandAugment is torchvision's RandAugment(2, 12)
of the paper, op for op and strength for strength."""
import math

import numpy as np
import pytest
import torchvision.transforms as T
from mmpretrain.registry import TRANSFORMS

import mmsplitmix  # noqa: F401
from tests.test_configs.configs_testing import REPO, load_config

LEVEL, BINS = 12, 31
# torchvision op -> (mmpretrain type, extra key that tells it apart)
OPS = {
    'ShearX': ('Shear', 'horizontal'),
    'ShearY': ('Shear', 'vertical'),
    'TranslateX': ('Translate', 'horizontal'),
    'TranslateY': ('Translate', 'vertical'),
    'Rotate': ('Rotate', None),
    'Brightness': ('Brightness', None),
    'Color': ('ColorTransform', None),
    'Contrast': ('Contrast', None),
    'Sharpness': ('Sharpness', None),
    'Posterize': ('Posterize', None),
    'Solarize': ('Solarize', None),
    'AutoContrast': ('AutoContrast', None),
    'Equalize': ('Equalize', None),
}


def built_randaugment(config_name):
    """The policies and the built transform of a config's RandAugment."""
    cfg = load_config(REPO / 'configs' / config_name)
    (rand_aug, ) = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] == 'TorchvisionRandAugment'
    ]
    transform = TRANSFORMS.build(rand_aug)
    return dict(
        num_policies=transform.num_policies,
        policies=transform.policies), transform


# config: the image side its RandAugment sees
SIDES = {
    'splitmixer/splitmixer-i-256-8_1xb512_cifar10.py': 32,
    'splitmixer/splitmixer-iii-256-8_1xb512_cifar100.py': 32,
    'convmixer/convmixer-256-8_1xb128_food101.py': 224,
    'splitmixer/splitmixer-ii-256-8_1xb128_flowers102.py': 224,
    'quickstart/splitmixer-i-256-8_1xb64_digits.py': 16,
}


@pytest.mark.parametrize('config_name', sorted(SIDES))
def test_randaugment_matches_torchvision(config_name):
    cfg, rand_aug = built_randaugment(config_name)
    assert cfg['num_policies'] == 2
    side = SIDES[config_name]
    space = T.RandAugment(
        num_ops=2, magnitude=LEVEL)._augmentation_space(BINS, (side, side))
    assert len(rand_aug.transforms) == len(space) == 14

    unmatched = list(zip(cfg['policies'], rand_aug.transforms))
    # Identity: an op that never fires.
    identity = [(p, t) for p, t in unmatched if p.get('prob') == 0]
    assert len(identity) == 1
    unmatched.remove(identity[0])
    for op, (magnitudes, signed) in space.items():
        if op == 'Identity':
            continue
        mm_type, direction = OPS[op]
        (match, ) = [(p, t) for p, t in unmatched if p['type'] == mm_type
                     and p.get('direction', direction) == direction]
        unmatched.remove(match)
        policy, transform = match
        assert transform.prob == 1.0, f'{op} must always fire'
        if magnitudes.ndim == 0 or len(magnitudes) == 1:
            assert 'magnitude_range' not in policy
            continue
        expected = float(magnitudes[LEVEL])
        actual = transform.random_magnitude()
        if op.startswith('Translate'):
            actual *= side  # mmpretrain: fraction of the side
            # torchvision shifts by int(magnitude) pixels.
            expected = float(int(expected))
        if op == 'Posterize':
            actual = math.ceil(actual)  # what mmpretrain's Posterize does
        assert actual == pytest.approx(expected, rel=1e-5), op
        # Signed ops get a random sign half of the time.
        assert transform.random_negative_prob == (0.5 if signed else 0.)
    assert unmatched == []


def test_posterize_mapping_holds_at_every_level():
    cfg, _ = built_randaugment(
        'splitmixer/splitmixer-i-256-8_1xb512_cifar10.py')
    (policy, ) = [p for p in cfg['policies'] if p['type'] == 'Posterize']
    high, low = policy['magnitude_range']
    for level in range(BINS):
        expected = 8 - int(np.round(4 * level / 30))
        tv = T.RandAugment()._augmentation_space(BINS, (8, 8))['Posterize']
        assert int(tv[0][level]) == expected
        assert math.ceil(high + level / 30 * (low - high)) == expected


@pytest.mark.parametrize('config_name', sorted(SIDES))
@pytest.mark.parametrize('direction', ['horizontal', 'vertical'])
@pytest.mark.parametrize('sign', [1, -1])
def test_translate_moves_the_pixels_of_torchvision(config_name, direction,
                                                   sign):
    """The configs' Translate gives torchvision's image, pixel for pixel."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.autoaugment import _apply_op
    side = SIDES[config_name]
    cfg, _ = built_randaugment(config_name)
    (policy, ) = [
        p for p in cfg['policies']
        if p['type'] == 'Translate' and p['direction'] == direction
    ]
    transform = TRANSFORMS.build(
        dict(
            policy,
            magnitude_level=LEVEL,
            total_level=BINS - 1,
            magnitude_std=0.,
            random_negative_prob=0. if sign > 0 else 1.,
            pad_val=0,
            interpolation='nearest'))
    rng = np.random.default_rng(side)
    image = rng.integers(1, 256, (side, side, 3), dtype=np.uint8)
    ours = transform(dict(img=image.copy()))['img']

    op = 'TranslateX' if direction == 'horizontal' else 'TranslateY'
    magnitude = float(T.RandAugment()._augmentation_space(
        BINS, (side, side))[op][0][LEVEL])
    theirs = _apply_op(
        torch.from_numpy(image).permute(2, 0, 1), op, sign * magnitude,
        InterpolationMode.NEAREST, None).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(ours, theirs)
    # The shift is the truncated one: that many columns (rows) of padding.
    blank = (ours == 0).all(
        axis=(0, 2) if direction == 'horizontal' else (1, 2))
    assert blank.sum() == int(magnitude)
