"""Inference and training-step throughput of models, in images per second,
in each of the modes a model can run in.

A mode is a combination of the standard ways of running a PyTorch model
faster without changing its function (see :data:`MODES`). Every model is
prepared in every mode asked for, as its own copy, and warmed up; the first
step of each is timed on its own, so that compiling shows apart from the
steady speed. Then the timed steps run round-robin: each repeat times one
inference step of every (model, mode) in turn, then one training step of
each, so that changes of the machine's load over time affect all of them
alike. The throughput is the batch size divided by the median step time. On
a GPU every step is synchronised before its clock is read, and cuDNN's
autotuner (``torch.backends.cudnn.benchmark``) is on for every model, as
the paper's runtime config turns it on for training: the input shapes are
fixed, so cuDNN picks its fastest convolution algorithms in the first steps.
"""
import contextlib
import copy
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsplitmix.models.speed_modes import (deployable_modules,
                                           switch_to_deploy, to_channels_last)

#: The modes, each a '+'-joined set of: ``channels_last`` (model and inputs
#: in the channels-last memory format), ``compile`` (``torch.compile`` with
#: its default options) and ``deploy`` (the model's deploy form, for models
#: that offer one through ``switch_to_deploy()``; inference only); and
#: ``onnxruntime``: the model exported to ONNX (``torch.onnx.export``) and
#: run by onnxruntime on the CPU, as a user deploys it (inference only).
MODES = ('eager', 'channels_last', 'compile', 'channels_last+compile',
         'deploy', 'deploy+compile', 'onnxruntime')
_FEATURES = ('channels_last', 'compile', 'deploy', 'onnxruntime')
#: Modes that have no training step.
_INFERENCE_ONLY = frozenset({'deploy', 'onnxruntime'})


def mode_features(mode: str) -> frozenset:
    """The features of a mode name, e.g. ``{'channels_last', 'compile'}``
    for ``'channels_last+compile'``."""
    if mode == 'eager':
        return frozenset()
    features = mode.split('+')
    if mode not in MODES or any(f not in _FEATURES for f in features):
        raise ValueError(f'unknown mode {mode!r}; choose from {list(MODES)}')
    return frozenset(features)


def supports_mode(model: nn.Module, mode: str) -> bool:
    """Whether ``model`` can run in ``mode`` (deploy needs a deploy form)."""
    return 'deploy' not in mode_features(mode) or bool(
        deployable_modules(model))


def trains_in_mode(mode: str) -> bool:
    """Deploy forms and onnxruntime are for inference: their modes have no
    training step."""
    return not mode_features(mode) & _INFERENCE_ONLY


def onnxruntime_session(model: nn.Module, inputs: torch.Tensor):
    """An onnxruntime session on the CPU running ``model`` (in eval mode,
    returning its logits) exported to ONNX for ``inputs``, with as many
    threads as PyTorch uses."""
    import onnxruntime

    class Logits(nn.Module):

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, images):
            return _logits(self.model, images)

    program = torch.onnx.export(
        Logits(model).eval(), (inputs, ), dynamo=True, verbose=False)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return onnxruntime.InferenceSession(
        program.model_proto.SerializeToString(),
        options,
        providers=['CPUExecutionProvider'])


@dataclass
class BenchmarkCase:
    """One model to measure in one mode.

    Args:
        name (str): Name shown in tables and charts.
        model (nn.Module): The model. An mmpretrain classifier is called in
            ``'tensor'`` mode, anything else plainly; either must return the
            logits. It is copied, never changed.
        input_shape (tuple[int, int, int]): ``(C, H, W)`` of one image.
        batch_size (int): Images per step.
        mode (str): One of :data:`MODES`. Defaults to 'eager'.
    """
    name: str
    model: nn.Module
    input_shape: Sequence[int]
    batch_size: int
    mode: str = 'eager'


def _logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    if hasattr(model, 'data_preprocessor'):
        out = model(inputs, mode='tensor')
    else:
        out = model(inputs)
    if isinstance(out, (tuple, list)):
        out = out[-1]
    return out


class _CaseSteps:
    """The prepared models, inputs, optimizer and steps of one case."""

    def __init__(self, case: BenchmarkCase, device: torch.device, amp: bool):
        features = mode_features(case.mode)
        self.device = device
        self.amp = amp
        self.trains = trains_in_mode(case.mode)
        model = copy.deepcopy(case.model).to(device)
        memory_format = torch.contiguous_format
        if 'channels_last' in features:
            to_channels_last(model)
            memory_format = torch.channels_last
        if 'deploy' in features:
            model.eval()
            switch_to_deploy(model)
        self.model = model
        self.forward = torch.compile(model) if 'compile' in features \
            else model
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(
            case.batch_size, *case.input_shape, generator=generator).to(
                device, memory_format=memory_format)
        self.session = None
        if 'onnxruntime' in features:
            self.session = onnxruntime_session(model, self.inputs)
            self.session_inputs = {
                self.session.get_inputs()[0].name: self.inputs.numpy()
            }
        self.targets = None
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=1e-4)
        self.scaler = torch.amp.GradScaler(
            device.type, enabled=amp and device.type == 'cuda')

    def _autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.float16)

    def inference(self) -> None:
        if self.session is not None:
            self.session.run(None, self.session_inputs)
            return
        self.model.eval()
        with torch.inference_mode(), self._autocast():
            _logits(self.forward, self.inputs)

    def training(self) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits = _logits(self.forward, self.inputs)
            if self.targets is None:
                generator = torch.Generator().manual_seed(1)
                self.targets = torch.randint(
                    logits.size(-1), (logits.size(0), ),
                    generator=generator).to(self.device)
            loss = F.cross_entropy(logits.float(), self.targets)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def kinds(self):
        return ('inference', 'training') if self.trains else ('inference', )


def _timed(step: Callable[[], None], device: torch.device) -> float:
    sync = device.type == 'cuda'
    if sync:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if sync:
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _check(cases, device, amp, warmup, repeats) -> torch.device:
    device = torch.device(device)
    if device.type not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device}")
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError('device cuda was asked for, but CUDA is not '
                         'available on this machine; use device cpu')
    if amp and device.type != 'cuda':
        raise ValueError('amp (float16 mixed precision) needs a CUDA device')
    if any('onnxruntime' in mode_features(case.mode) for case in cases):
        if device.type != 'cpu' or amp:
            raise ValueError('mode onnxruntime runs on the CPU in fp32: use '
                             'device cpu without amp')
        try:
            import onnxruntime  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError as error:
            raise ValueError(f'mode onnxruntime needs {error.name}: pip '
                             'install onnx onnxruntime onnxscript') from None
    for name, value, low in (('warmup', warmup, 0), ('repeats', repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or \
                value < low:
            raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
    if not cases:
        raise ValueError('no models to benchmark')
    for case in cases:
        if not isinstance(case.batch_size, int) or case.batch_size < 1:
            raise ValueError(f'batch size of {case.name} must be a positive '
                             f'int, got {case.batch_size!r}')
        if not supports_mode(case.model, case.mode):
            raise ValueError(f'{case.name} has no deploy form, so it cannot '
                             f'run in mode {case.mode!r}')
    return device


def autotunes_cudnn(device) -> bool:
    """Whether the measurements on ``device`` (a name or a device) run with
    cuDNN's autotuner on: on CUDA GPUs."""
    return torch.device(device).type == 'cuda'


@contextlib.contextmanager
def cudnn_autotuned(device: torch.device):
    """cuDNN's autotuner on while measuring on a GPU; restored after."""
    if not autotunes_cudnn(device):
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def measure_throughput(cases: Sequence[BenchmarkCase],
                       device: str = 'cpu',
                       amp: bool = False,
                       warmup: int = 3,
                       repeats: int = 10) -> List[Dict[str, Optional[float]]]:
    """Measure inference and training throughput of ``cases``.

    A training step is forward, cross-entropy loss on random labels,
    backward and an AdamW step. Inference runs in eval mode under
    ``torch.inference_mode``.

    Args:
        cases (Sequence[BenchmarkCase]): The models and modes to measure.
        device (str): 'cpu' or 'cuda' (or 'cuda:N'). Defaults to 'cpu'.
        amp (bool): Mixed precision (float16 autocast and gradient scaling);
            CUDA only. Defaults to False.
        warmup (int): Untimed steps of each kind per case after the first
            step. Defaults to 3.
        repeats (int): Timed steps of each kind per case; the median is
            used. Defaults to 10.

    Returns:
        list[dict]: Per case, for ``kind`` in inference and training:
        ``kind`` (images per second), ``{kind}_time`` (median step time in
        seconds) and ``{kind}_first_time`` (the first step, which includes
        compiling); all None for the training of deploy modes.
    """
    device = _check(cases, device, amp, warmup, repeats)
    with cudnn_autotuned(device):
        steps = [_CaseSteps(case, device, amp) for case in cases]
        kinds = ('inference', 'training')
        first = [dict() for _ in steps]
        times = [{
            kind: []
            for kind in case_steps.kinds()
        } for case_steps in steps]
        for case_steps, case_first in zip(steps, first):
            for kind in case_steps.kinds():
                step = getattr(case_steps, kind)
                case_first[kind] = _timed(step, device)
                for _ in range(warmup):
                    step()
        for _ in range(repeats):
            for kind in kinds:
                for case_steps, case_times in zip(steps, times):
                    if kind in case_times:
                        case_times[kind].append(
                            _timed(getattr(case_steps, kind), device))
    results = []
    for case, case_times, case_first in zip(cases, times, first):
        result = {}
        for kind in kinds:
            if kind not in case_times:
                result.update({
                    kind: None,
                    f'{kind}_time': None,
                    f'{kind}_first_time': None
                })
                continue
            median = statistics.median(case_times[kind])
            result[f'{kind}_time'] = median
            result[f'{kind}_first_time'] = case_first[kind]
            result[kind] = case.batch_size / median
        results.append(result)
    return results


def profile_operators(case: BenchmarkCase,
                      device: str = 'cpu',
                      amp: bool = False,
                      steps: int = 3,
                      top: int = 8) -> Dict[str, List[tuple]]:
    """Per-operator time of one case's steps, from ``torch.profiler``.

    Args:
        case (BenchmarkCase): The model and mode to profile.
        device (str): 'cpu' or 'cuda'. Defaults to 'cpu'.
        amp (bool): Mixed precision (CUDA only). Defaults to False.
        steps (int): Profiled steps of each kind, after two untimed ones.
            Defaults to 3.
        top (int): Operators listed per kind. Defaults to 8.

    Returns:
        dict: For each kind of step the case has, a list of ``(operator,
        milliseconds per step, share of the step's operator time)``, the
        slowest first, and under ``'{kind}_total'`` the operator time per
        step in milliseconds.
    """
    from torch.profiler import ProfilerActivity, profile

    device = _check([case], device, amp, 0, 1)
    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with cudnn_autotuned(device):
        case_steps = _CaseSteps(case, device, amp)
        result = {}
        for kind in case_steps.kinds():
            step = getattr(case_steps, kind)
            for _ in range(2):
                step()
            with profile(activities=activities) as prof:
                for _ in range(steps):
                    _timed(step, device)
            events = prof.key_averages()
            attribute = ('self_device_time_total'
                         if device.type == 'cuda' else 'self_cpu_time_total')
            times = [(e.key, getattr(e, attribute)) for e in events]
            total = sum(t for _, t in times)
            times.sort(key=lambda item: -item[1])
            result[kind] = [(name, t / steps / 1000, t / total)
                            for name, t in times[:top] if t > 0]
            result[f'{kind}_total'] = total / steps / 1000
    return result
