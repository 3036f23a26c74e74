"""Print the FLOPs and parameters of a config's model.

FLOPs follow the convention of the SplitMixer paper's tables: the
multiply-accumulates of every convolution and linear layer, plus 2 per element
for BatchNorm and GELU and 1 per element for average pooling, for one image,
head included. Parameters count every parameter, head included.

Example::

    python tools/analysis_tools/get_flops.py \\
        configs/splitmixer/splitmixer-i-256-8_1xb512_cifar10.py
    # Input shape: (3, 32, 32)
    # Flops: 71.838M
    # Params: 0.276M
"""
import argparse
import sys

from config_inputs import build_model_from_config, input_shape_for, load_config
from mmengine.config import DictAction

from mmsplitmix.analysis import format_millions, get_complexity


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count the FLOPs (SplitMixer paper convention) and '
        'parameters of the model of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input image size H [W]; defaults to the size the config\'s '
        'test pipeline produces')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs '
        '(dotted keys for nested fields)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    input_shape = input_shape_for(cfg, args.shape)
    model = build_model_from_config(cfg)
    result = get_complexity(model, input_shape)
    split_line = '=' * 30
    print(f'{split_line}\n'
          f'Input shape: {input_shape}\n'
          f'Flops: {format_millions(result["flops"])}\n'
          f'Params: {format_millions(result["params"])}\n'
          f'{split_line}')
    print('FLOPs: multiply-accumulates of convolutions and linear layers, '
          'plus 2 per element for BatchNorm and GELU and 1 per element for '
          'average pooling, for one image, head included.')
    return result


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, TypeError) as error:
        sys.exit(f'error: {error}')
