"""What tools/train.py and tools/test.py share: importing mmsplitmix,
loading a config, running distributed on CPUs, and one-line errors for what
a user can fix."""
import argparse
import ast
import contextlib
import os
import os.path as osp
import subprocess
import sys


def add_launch_arguments(parser) -> None:
    """``--cfg-options``, ``--launcher`` and the ``--local-rank`` that
    launchers pass, as mmpretrain's tools take them."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        metavar='KEY=VALUE',
        help='override settings of the config, e.g. '
        'train_cfg.max_epochs=10 key="[a,b]"; no white space in a pair')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse(parser, argv):
    """``parser``'s arguments; ``--local-rank`` becomes ``LOCAL_RANK`` where
    the launcher did not set it, as mmpretrain's tools do."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def set_launcher_and_work_dir(cfg, args) -> None:
    """The launcher, and the work dir: ``--work-dir``, the config's, else
    ``work_dirs/<config name>``."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def merge_cfg_options(cfg, args) -> None:
    """``--cfg-options``, parsed as mmengine's ``DictAction`` does: here,
    after parsing, so that ``--help`` need not import mmengine."""
    from mmengine.config import DictAction
    if args.cfg_options:
        options = argparse.Namespace()
        DictAction(['--cfg-options'], 'options')(None, options,
                                                 args.cfg_options)
        cfg.merge_from_dict(options.options)


def import_mmsplitmix():
    """``import mmsplitmix``, refusing a folder that shadows the package."""
    import mmsplitmix
    if getattr(mmsplitmix, '__file__', None) is None:
        sys.exit(
            "error: 'import mmsplitmix' finds the folder "
            f"{', '.join(mmsplitmix.__path__)} instead of the installed "
            "package: a folder of that name on Python's path (a clone in "
            'the current directory, say) shadows it. Run the command from '
            'another directory, e.g. from inside the clone.')
    return mmsplitmix


def _syntax_error_file(path: str, seen=None):
    """The first file among ``path`` and its local ``_base_`` files that is
    not valid Python, with its error."""
    seen = set() if seen is None else seen
    if path in seen or not osp.isfile(path):
        return None
    seen.add(path)
    source = open(path, encoding='utf-8').read()
    try:
        tree = ast.parse(source, path)
    except SyntaxError as error:
        return path, error
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id',
                                                    None) == '_base_':
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return None
            for base in [bases] if isinstance(bases, str) else bases:
                if isinstance(base, str) and '::' not in base:
                    found = _syntax_error_file(
                        osp.join(osp.dirname(path), base), seen)
                    if found:
                        return found
    return None


def load_config(path: str):
    """``Config.fromfile`` inside :func:`mmsplitmix.package_configs` (for
    ``mmsplitmix::`` and ``mmpretrain::`` bases); a syntax error names its
    file and line."""
    from mmengine.config import Config

    from mmsplitmix import package_configs
    try:
        with package_configs():
            return Config.fromfile(path)
    except SyntaxError:
        found = _syntax_error_file(osp.abspath(path))
        if found is None:
            raise
        bad, error = found
        sys.exit(f'error: config file {bad!r} has a syntax error at line '
                 f'{error.lineno}: {error.msg}')


def setup_cpu_distributed(cfg) -> None:
    """Run a torchrun or slurm job on CPUs: mmengine's launchers would call
    ``torch.cuda.set_device`` and its Runner would give DDP
    ``device_ids=[LOCAL_RANK]``. Starts gloo here instead and wraps DDP
    without devices. Does nothing where a GPU runs the job."""
    import torch.distributed as dist
    from mmengine.device import get_device

    if cfg.launcher == 'none' or get_device() != 'cpu':
        return
    if cfg.launcher == 'slurm':  # the variables torchrun would set
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            nodes = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.check_output(
                ['scontrol', 'show', 'hostname', nodes], text=True).split()[0]
        for name, slurm_name in (('RANK', 'SLURM_PROCID'), ('WORLD_SIZE',
                                                            'SLURM_NTASKS'),
                                 ('LOCAL_RANK', 'SLURM_LOCALID')):
            os.environ[name] = os.environ[slurm_name]
    elif cfg.launcher != 'pytorch':
        sys.exit(f'error: --launcher {cfg.launcher} needs a GPU per process; '
                 'on CPUs, use torchrun (tools/dist_train.sh) or slurm')
    if not dist.is_initialized():
        dist.init_process_group('gloo')
    wrapper = dict(
        cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False)))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg):
    """The config's runner, as mmpretrain's tools build it."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    setup_cpu_distributed(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


@contextlib.contextmanager
def one_line_errors(prog: str):
    """Errors whose message says what to fix end the tool in one line;
    the process group, if any, is closed at the end."""
    import torch.distributed as dist

    from mmsplitmix.datasets import CorruptDatasetError, DatasetNotFoundError
    from mmsplitmix.engine import (CheckpointMismatchError,
                                   CheckpointSaveError, CorruptCheckpointError,
                                   SplitClassesError, UnsafeCheckpointError,
                                   WorkDirInUseError)
    try:
        yield
    except (CheckpointMismatchError, CheckpointSaveError,
            CorruptCheckpointError, CorruptDatasetError, DatasetNotFoundError,
            SplitClassesError, UnsafeCheckpointError,
            WorkDirInUseError) as error:
        sys.exit(f'{prog}: error: {type(error).__name__}: {error}')
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
