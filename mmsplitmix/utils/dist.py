"""Distributed training and testing on machines without a GPU.

mmengine 0.10.x assumes a GPU per process: its ``pytorch`` and ``slurm``
launchers call ``torch.cuda.set_device`` and its Runner wraps the model in
``DistributedDataParallel(device_ids=[LOCAL_RANK])``. Both fail on a CPU-only
machine, where the gloo backend needs neither.

:func:`setup_cpu_distributed` fixes that before the Runner is built: when
the job is distributed and the device is the CPU, it starts the gloo process
group itself (the Runner then skips its own initialisation) and sets
``model_wrapper_cfg`` so that DDP gets ``device_ids=None``. With a GPU (or
another accelerator mmengine supports) it changes nothing, so the usual
NCCL path runs.
"""
import datetime
import os
import subprocess
from typing import Optional, Tuple

import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
CPU_BACKENDS = ('gloo', 'mpi')


def _require_env(name: str, launcher: str) -> str:
    if name not in os.environ:
        raise KeyError(f'The {launcher!r} launcher needs the environment '
                       f'variable {name}, which is not set.')
    return os.environ[name]


def _slurm_master_addr(node_list: str) -> str:
    """The first host of a slurm node list (needs ``scontrol``)."""
    try:
        out = subprocess.run(['scontrol', 'show', 'hostname', node_list],
                             capture_output=True,
                             text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(
            'Cannot find the master node of the slurm job: set MASTER_ADDR '
            f'or make `scontrol` available ({error}).') from error
    hosts = out.split()
    if not hosts:
        raise RuntimeError(
            f'`scontrol show hostname {node_list}` returned no host.')
    return hosts[0]


def _rank_env(launcher: str, port: Optional[int]) -> Tuple[int, int, int]:
    """Rank, world size and local rank of this process; sets the variables
    the ``env://`` rendezvous reads (as mmengine's launchers do)."""
    if launcher == 'pytorch':
        rank = int(_require_env('RANK', launcher))
        world_size = int(_require_env('WORLD_SIZE', launcher))
        local_rank = int(os.environ.get('LOCAL_RANK', 0))
        _require_env('MASTER_ADDR', launcher)
        _require_env('MASTER_PORT', launcher)
    elif launcher == 'slurm':
        rank = int(_require_env('SLURM_PROCID', launcher))
        world_size = int(_require_env('SLURM_NTASKS', launcher))
        local_rank = int(os.environ.get('SLURM_LOCALID', 0))
        if port is not None:
            os.environ['MASTER_PORT'] = str(port)
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = _slurm_master_addr(
                _require_env('SLURM_NODELIST', launcher))
    elif launcher == 'mpi':
        rank = int(_require_env('OMPI_COMM_WORLD_RANK', launcher))
        world_size = int(_require_env('OMPI_COMM_WORLD_SIZE', launcher))
        local_rank = int(os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', 0))
        _require_env('MASTER_ADDR', launcher)
        os.environ.setdefault('MASTER_PORT', '29500')
    else:
        raise ValueError(f'launcher must be one of {LAUNCHERS[1:]} for a '
                         f'distributed job, got {launcher!r}')
    os.environ['RANK'] = str(rank)
    os.environ['WORLD_SIZE'] = str(world_size)
    os.environ['LOCAL_RANK'] = str(local_rank)
    return rank, world_size, local_rank


def init_cpu_process_group(launcher: str,
                           dist_cfg: Optional[dict] = None) -> str:
    """Start the process group of a CPU job without touching CUDA.

    Args:
        launcher (str): ``'pytorch'`` (torchrun), ``'slurm'`` or ``'mpi'``.
        dist_cfg (dict, optional): ``env_cfg.dist_cfg`` of the config:
            ``backend`` (``'gloo'`` or ``'mpi'`` are kept, a GPU backend such
            as ``'nccl'`` is replaced by ``'gloo'``), ``timeout`` in seconds,
            ``port`` (slurm only).

    Returns:
        str: The backend used.
    """
    dist_cfg = dict(dist_cfg or {})
    requested = dist_cfg.pop('backend', None)
    backend = requested if requested in CPU_BACKENDS else 'gloo'
    if requested not in (None, backend):
        print_log(
            f'No GPU found: using the {backend!r} backend instead of '
            f'{requested!r} for distributed execution on the CPU.',
            logger='current')
    timeout = dist_cfg.pop('timeout', None)
    port = dist_cfg.pop('port', None)
    dist_cfg.pop('init_backend', None)
    rank, world_size, _ = _rank_env(launcher, port)
    kwargs = dict(backend=backend, rank=rank, world_size=world_size)
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    if backend == 'mpi':
        kwargs.pop('rank')
        kwargs.pop('world_size')
    else:
        kwargs['init_method'] = 'env://'
    torch_dist.init_process_group(**kwargs)
    return backend


def cpu_model_wrapper_cfg(model_wrapper_cfg: Optional[dict],
                          find_unused_parameters: bool = False) -> dict:
    """A ``model_wrapper_cfg`` whose DDP wrapper runs on the CPU.

    Args:
        model_wrapper_cfg (dict, optional): The config's own wrapper config.
        find_unused_parameters (bool): Used when the config has no wrapper
            config, as mmengine's Runner does.

    Returns:
        dict: A copy with ``device_ids=None`` for DDP-based wrappers (the
        Runner would otherwise pass ``[LOCAL_RANK]``, a GPU index).
    """
    if model_wrapper_cfg is None:
        return dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=find_unused_parameters,
            device_ids=None)
    wrapper_cfg = dict(model_wrapper_cfg)
    wrapper_type = wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
    wrapper_cls = (
        MODEL_WRAPPERS.get(wrapper_type)
        if isinstance(wrapper_type, str) else wrapper_type)
    if wrapper_cls is None:
        raise KeyError(f'model_wrapper_cfg.type {wrapper_type!r} is not a '
                       'registered model wrapper')
    if isinstance(wrapper_cls, type) and issubclass(
            wrapper_cls, (DistributedDataParallel, MMDistributedDataParallel)):
        wrapper_cfg['device_ids'] = None
    return wrapper_cfg


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare a distributed config to run on the CPU when there is no GPU.

    Call it after ``cfg.launcher`` is set and before building the Runner.
    Does nothing for ``launcher='none'``, on machines with a GPU or when the
    process group is already running.

    Args:
        cfg (Config): The full config (``launcher``, ``env_cfg``,
            ``model_wrapper_cfg``, ``find_unused_parameters`` are read).

    Returns:
        bool: True if the CPU set-up was applied.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in LAUNCHERS:
        raise ValueError(
            f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or get_device() != 'cpu':
        return False
    if not torch_dist.is_initialized():
        env_cfg = cfg.get('env_cfg') or {}
        backend = init_cpu_process_group(launcher, env_cfg.get('dist_cfg'))
        print_log(
            f'No GPU found: distributed run on the CPU with {backend} '
            f'(rank {torch_dist.get_rank()} of '
            f'{torch_dist.get_world_size()}).',
            logger='current')
    cfg.model_wrapper_cfg = ConfigDict(
        cpu_model_wrapper_cfg(
            cfg.get('model_wrapper_cfg'),
            cfg.get('find_unused_parameters', False)))
    return True


def shutdown_distributed() -> None:
    """Wait for every rank, then destroy the process group.

    Call it when a distributed job has finished. Left to interpreter exit,
    the teardown of a gloo group can abort a process whose peer has already
    gone (``terminate called without an active exception``).
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
