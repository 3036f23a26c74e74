"""Turning a config into a Runner, the same way for every tool."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .dist import setup_cpu_distributed


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str):
    """``work_dir`` if given, else the config's, else
    ``./work_dirs/<config name>`` (mmpretrain's default)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def build_runner(cfg: Config):
    """Build the config's runner (``runner_type``, else mmengine's Runner),
    after setting up distributed runs that have no GPU."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    setup_cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
