"""The command-line options and start-up steps that tools/train.py and
tools/test.py share: safe checkpoint loading and its opt-out, config
overrides, the launcher and the local rank torchrun passes, and how a run's
errors are reported."""
import argparse
import contextlib
import os
import sys
import textwrap


def safe_loading_epilog(what: str) -> str:
    """The ``-h`` epilog that explains safe loading of ``what`` (e.g.
    ``'The checkpoint is'``)."""
    from mmsplitmix.utils.checkpoint import TRUSTED_CHECKPOINTS_ENV

    return textwrap.fill(
        f'{what} loaded safely: only tensors, containers, numbers, strings '
        'and the NumPy/mmengine logging types of mmengine checkpoints are '
        'unpickled; a file holding other objects is refused. To load such a '
        'file that you trust, pass --trust-checkpoint or set '
        f'{TRUSTED_CHECKPOINTS_ENV}=1.',
        width=79)


def add_shared_options(parser: argparse.ArgumentParser,
                       cfg_options_example: str) -> None:
    """Add ``--no-pin-memory``, ``--trust-checkpoint``, ``--cfg-options``
    (its help shows ``cfg_options_example``), ``--launcher`` and the hidden
    ``--local-rank``."""
    from mmsplitmix.utils.checkpoint import TRUSTED_CHECKPOINTS_ENV
    from mmsplitmix.utils.tool_args import KeyValueAction

    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load checkpoints with full unpickling (can run code stored '
        f'in the file; same as {TRUSTED_CHECKPOINTS_ENV}=1)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=KeyValueAction,
        help='override settings of the config, as key=value pairs, e.g. '
        f'{cfg_options_example} key="[a,b]"; no white space inside a pair')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (or --local_rank).
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help=argparse.SUPPRESS)


def apply_shared_options(args: argparse.Namespace) -> None:
    """What the shared options set in the environment: ``LOCAL_RANK``
    (unless a launcher set it) and the trust opt-in."""
    from mmsplitmix.utils.checkpoint import TRUSTED_CHECKPOINTS_ENV

    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.trust_checkpoint:
        os.environ[TRUSTED_CHECKPOINTS_ENV] = '1'


@contextlib.contextmanager
def one_line_errors(parser: argparse.ArgumentParser, cfg_options):
    """Exit with a one-line ``<prog>: error: ...`` instead of a traceback
    for the errors whose message says all there is to know
    (:func:`mmsplitmix.utils.tool_args.user_errors`) and for a constructor
    refusing an argument that ``cfg_options`` (``--cfg-options``) added."""
    from mmsplitmix.utils.tool_args import misspelt_option_error, user_errors
    try:
        yield
    except user_errors() as error:
        sys.exit(f'{parser.prog}: error: {type(error).__name__}: {error}')
    except TypeError as error:
        problem = misspelt_option_error(error, cfg_options)
        if problem is None:
            raise
        sys.exit(f'{parser.prog}: error: {problem}')
