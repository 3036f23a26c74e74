"""The experiments of the SplitMixer paper (Borji & Lin, 2022), transcribed
once from its tables, the original code's README and the abstract. The
tests check the configs, the model index and the complexity counts against
this transcript."""
from typing import NamedTuple


class DatasetSetup(NamedTuple):
    """How the paper trains on one of its small datasets."""
    batch_size: int
    num_classes: int
    image_size: int
    patch_size: int
    kernel_size: int
    lr: float


SMALL_DATASETS = {
    'cifar10': DatasetSetup(512, 10, 32, 2, 5, 0.05),
    'cifar100': DatasetSetup(512, 100, 32, 2, 5, 0.05),
    'flowers102': DatasetSetup(128, 102, 224, 7, 7, 0.01),
    'food101': DatasetSetup(128, 101, 224, 7, 7, 0.01),
}

#: The paper's tables: dataset -> model -> (params in M, FLOPs in M, top-1
#: accuracy in %), as printed. FLOPs are printed to one decimal at 32 px and
#: as integers at 224 px, rounded down (152.659 M printed 152.6) or up
#: (71.861 M printed 71.9); params are rounded loosely (0.594 M printed
#: 0.60, 0.331 M printed 0.32).
TABLES = {
    'cifar10': {
        'convmixer': (0.60, 152.6, 94.17),
        'i': (0.28, 71.8, 93.91),
        'ii': (0.17, 46.2, 92.25),
        'iii': (0.17, 79.8, 92.52),
        'iv': (0.31, 79.8, 93.38),
    },
    'cifar100': {
        'convmixer': (0.62, 152.6, 73.92),
        'i': (0.30, 71.9, 72.88),
        'ii': (0.19, 46.2, 70.44),
        'iii': (0.19, 79.8, 70.89),
        'iv': (0.32, 79.8, 71.75),
    },
    'flowers102': {
        'convmixer': (0.70, 696, 60.47),
        'i': (0.34, 331, 62.03),
        'ii': (0.24, 229, 59.33),
        'iii': (0.24, 363, 59.00),
        'iv': (0.37, 363, 61.51),
    },
    'food101': {
        'convmixer': (0.70, 696, 74.59),
        'i': (0.34, 331, 73.56),
        'ii': (0.24, 229, 71.74),
        'iii': (0.24, 363, 72.78),
        'iv': (0.37, 363, 72.92),
    },
}

#: The abstract's MLP-Mixer on CIFAR-10: its config, params (M) and top-1.
MLP_MIXER = ('mlp-mixer-512-8-p4_1xb512_cifar10', 17.1, 85.45)

#: The SplitMixer settings of the paper's small-dataset experiments, and
#: the ImageNet architectures (embed dims, depth, patch, kernel) of the
#: original code.
SETTINGS = ('i', 'ii', 'iii', 'iv', 'v')
IMAGENET_ARCHS = {
    'splitmixer-i-768-32': (768, 32, 7, 7),
    'splitmixer-i-1024-20': (1024, 20, 14, 9),
    'splitmixer-i-1536-20': (1536, 20, 7, 9),
}


def conv_params(c_in, c_out, k_h=1, k_w=1, groups=1):
    return c_out * (c_in // groups) * k_h * k_w + c_out


def expected_backbone_params(c,
                             depth,
                             patch,
                             k,
                             setting,
                             ratio=2 / 3,
                             segments=2,
                             spatial=True,
                             channel=True):
    """Parameter count of the original code's backbone, written out layer by
    layer from the paper's rules (``setting`` None without the channel
    trick)."""
    bn = 2 * c
    total = conv_params(3, c, patch, patch) + bn
    for i in range(depth):
        if spatial:
            total += 2 * conv_params(c, c, 1, k, groups=c) + 2 * bn
        else:
            total += conv_params(c, c, k, k, groups=c) + bn
        total += bn
        if not channel:
            total += conv_params(c, c)
        elif setting == 'I':
            total += conv_params(int(c * ratio), int(c * ratio))
        elif setting == 'II':
            b = int(c / segments)
            width = c - b * (segments - 1) if i % segments == segments - 1 \
                else b
            total += conv_params(width, width)
        elif setting == 'III':
            total += conv_params(c // segments, c // segments)
        elif setting == 'IV':
            b = c // segments
            last = c - b * (segments - 1)
            total += (segments - 1) * conv_params(b, b) + conv_params(
                last, last)
        elif setting == 'V':
            total += 2 * conv_params(int(c * ratio), int(c * ratio))
        elif setting == '3D':
            b = c // segments
            total += b * b + b
    return total


def table_config(dataset: str, model: str) -> str:
    """Name of the config of a table row (``model`` 'convmixer' or a
    setting)."""
    arch = ('convmixer-256-8'
            if model == 'convmixer' else f'splitmixer-{model}-256-8')
    return f'{arch}_1xb{SMALL_DATASETS[dataset].batch_size}_{dataset}'


def paper_top1() -> dict:
    """Config name -> top-1 accuracy (%) the paper reports."""
    top1 = {
        table_config(dataset, model): row[2]
        for dataset, rows in TABLES.items()
        for model, row in rows.items()
    }
    top1[MLP_MIXER[0]] = MLP_MIXER[2]
    return top1


def _experiments():
    small = [
        f'{arch}_1xb{setup.batch_size}_{dataset}'
        for dataset, setup in SMALL_DATASETS.items()
        for arch in ['convmixer-256-8'] +
        [f'splitmixer-{s}-256-8' for s in SETTINGS]
    ]
    # 3-D channel mixing is reported on CIFAR only
    mixing_3d = [
        f'splitmixer-3d-256-8_1xb512_{dataset}'
        for dataset in ('cifar10', 'cifar100')
    ]
    imagenet = [f'{arch}_10xb64_in1k' for arch in IMAGENET_ARCHS]
    return frozenset(small + mixing_3d + imagenet + [MLP_MIXER[0]])


#: Config name of every experiment: the 20 rows of the tables, SplitMixer-V
#: on the four datasets, 3-D channel mixing on CIFAR, the three ImageNet
#: architectures and the MLP-Mixer.
EXPERIMENTS = _experiments()
