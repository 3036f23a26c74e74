"""The configs' RandAugment is torchvision's RandAugment(2, 12) of the
paper, op for op and strength for strength."""
import math

import numpy as np
import pytest
import torchvision.transforms as T
from conftest import REPO, load_config
from mmpretrain.registry import TRANSFORMS

import mmsplitmix  # noqa: F401

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
    cfg = load_config(REPO / 'configs' / config_name)
    (rand_aug, ) = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] == 'RandAugment'
    ]
    return rand_aug, TRANSFORMS.build(rand_aug)


@pytest.mark.parametrize('config_name', [
    'splitmixer/splitmixer-i-256-8_1xb512_cifar10.py',
    'convmixer/convmixer-256-8_1xb128_food101.py'
])
def test_randaugment_matches_torchvision(config_name):
    cfg, rand_aug = built_randaugment(config_name)
    assert cfg['num_policies'] == 2
    side = 32
    space = T.RandAugment(num_ops=2, magnitude=LEVEL)._augmentation_space(
        BINS, (side, side))
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
        (match, ) = [(p, t) for p, t in unmatched if p['type'] == mm_type and
                     p.get('direction', direction) == direction]
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
