"""A pipeline step for the thread test: records, in each process that runs
it (the data workers), the thread counts it sees. It leaves the data
unchanged."""
import json
import os
from pathlib import Path

import torch
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RecordThreads(BaseTransform):
    """Write ``<out_dir>/<pid>.json`` with the process's thread settings."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def transform(self, results):
        import cv2
        record = dict(
            torch_threads=torch.get_num_threads(),
            cv2_threads=cv2.getNumThreads(),
            omp_env=os.environ.get('OMP_NUM_THREADS'),
            mkl_env=os.environ.get('MKL_NUM_THREADS'))
        Path(self.out_dir,
             f'{os.getpid()}.json').write_text(json.dumps(record))
        return results
