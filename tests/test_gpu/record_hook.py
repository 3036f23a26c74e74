"""A hook for the GPU tool tests: it records how a training run actually
ran (device, autocast dtype, distributed backend, optimizer wrapper) in a
JSON file, without touching the model, data or RNGs."""
import json
from pathlib import Path

import torch.distributed as dist
import torch.nn as nn
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from mmsplitmix.engine.checkpoint_fit import bare_model


@HOOKS.register_module()
class RecordRunHook(Hook):
    """Write ``run_record.json`` in the work directory at the end of
    training, with:

    - ``param_device``: device type of the model's parameters;
    - ``forward_dtype``: dtype of the output of the backbone's first
      convolution in the first training iteration (float16 or bfloat16
      under autocast);
    - ``dist_backend`` and ``world_size`` (None when not distributed);
    - ``optim_wrapper``: class name of the optimizer wrapper;
    - ``loss_scaler``: whether its state holds a loss scaler.

    """

    priority = 'LOWEST'

    def __init__(self):
        self.record = {}
        self._handle = None

    def before_train(self, runner):
        model = bare_model(runner.model)
        self.record['param_device'] = next(model.parameters()).device.type
        self.record['dist_backend'] = (
            dist.get_backend() if dist.is_initialized() else None)
        self.record['world_size'] = (
            dist.get_world_size() if dist.is_initialized() else None)
        self.record['optim_wrapper'] = type(runner.optim_wrapper).__name__

        def record_dtype(module, inputs, output):
            self.record.setdefault('forward_dtype',
                                   str(output.dtype).replace('torch.', ''))

        first_conv = next(m for m in model.backbone.modules()
                          if isinstance(m, nn.Conv2d))
        self._handle = first_conv.register_forward_hook(record_dtype)

    def after_train(self, runner):
        if self._handle is not None:
            self._handle.remove()
        self.record['loss_scaler'] = 'loss_scaler' in \
            runner.optim_wrapper.state_dict()
        Path(runner.work_dir,
             'run_record.json').write_text(json.dumps(self.record))
