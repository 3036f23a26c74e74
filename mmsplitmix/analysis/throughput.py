"""Inference and training-step throughput of models, in images per second.

Every model is warmed up first. Then the timed steps run round-robin: each
repeat times one inference step of every model in turn, then one training
step of every model, so that changes of the machine's load over time affect
all models and both kinds of step alike. The throughput of a model is the
batch size divided by the median step time. On a GPU every step is
synchronised before its clock is read.
"""
import contextlib
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class BenchmarkCase:
    """One model to measure.

    Args:
        name (str): Name shown in tables and charts.
        model (nn.Module): The model. An mmpretrain classifier is called in
            ``'tensor'`` mode, anything else plainly; either must return the
            logits.
        input_shape (tuple[int, int, int]): ``(C, H, W)`` of one image.
        batch_size (int): Images per step.
    """
    name: str
    model: nn.Module
    input_shape: Sequence[int]
    batch_size: int


def _logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    if hasattr(model, 'data_preprocessor'):
        out = model(inputs, mode='tensor')
    else:
        out = model(inputs)
    if isinstance(out, (tuple, list)):
        out = out[-1]
    return out


class _Runner:
    """Inputs, optimizer and step functions of one case."""

    def __init__(self, case: BenchmarkCase, device: torch.device, amp: bool,
                 channels_last: bool):
        self.case = case
        self.device = device
        self.amp = amp
        memory_format = (
            torch.channels_last if channels_last else torch.contiguous_format)
        self.model = case.model.to(device, memory_format=memory_format)
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(
            case.batch_size, *case.input_shape,
            generator=generator).to(
                device, memory_format=memory_format)
        self.targets = None
        self.optimizer = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad],
            lr=1e-4)
        self.scaler = torch.amp.GradScaler(
            device.type, enabled=amp and device.type == 'cuda')

    def _autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.float16)

    def inference_step(self) -> None:
        self.model.eval()
        with torch.inference_mode(), self._autocast():
            _logits(self.model, self.inputs)

    def training_step(self) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits = _logits(self.model, self.inputs)
            if self.targets is None:
                generator = torch.Generator().manual_seed(1)
                self.targets = torch.randint(
                    logits.size(-1), (logits.size(0), ),
                    generator=generator).to(self.device)
            loss = F.cross_entropy(logits.float(), self.targets)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()


def _timed(step: Callable[[], None], device: torch.device) -> float:
    sync = device.type == 'cuda'
    if sync:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if sync:
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def measure_throughput(cases: Sequence[BenchmarkCase],
                       device: str = 'cpu',
                       amp: bool = False,
                       channels_last: bool = False,
                       warmup: int = 3,
                       repeats: int = 10) -> List[Dict[str, float]]:
    """Measure inference and training throughput of ``cases``.

    A training step is forward, cross-entropy loss on random labels,
    backward and an AdamW step. Inference runs in eval mode under
    ``torch.inference_mode``.

    Args:
        cases (Sequence[BenchmarkCase]): The models to measure.
        device (str): 'cpu' or 'cuda' (or 'cuda:N'). Defaults to 'cpu'.
        amp (bool): Mixed precision (float16 autocast and gradient scaling);
            CUDA only. Defaults to False.
        channels_last (bool): Put models and inputs in channels-last memory
            format. Defaults to False.
        warmup (int): Untimed steps of each kind per model before timing.
            Defaults to 3.
        repeats (int): Timed steps of each kind per model; the median is
            used. Defaults to 10.

    Returns:
        list[dict]: Per case, ``inference`` and ``training`` throughput in
        images per second and the median step times ``inference_time`` and
        ``training_time`` in seconds.
    """
    device = torch.device(device)
    if device.type not in ('cpu', 'cuda'):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device}")
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError('device cuda was asked for, but CUDA is not '
                         'available on this machine; use device cpu')
    if amp and device.type != 'cuda':
        raise ValueError('amp (float16 mixed precision) needs a CUDA device')
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

    runners = [_Runner(case, device, amp, channels_last) for case in cases]
    times = [dict(inference=[], training=[]) for _ in runners]
    kinds = ('inference', 'training')
    for runner in runners:
        for kind in kinds:
            step = getattr(runner, f'{kind}_step')
            for _ in range(warmup):
                step()
    for _ in range(repeats):
        for kind in kinds:
            for runner, runner_times in zip(runners, times):
                step = getattr(runner, f'{kind}_step')
                runner_times[kind].append(_timed(step, device))
    results = []
    for case, runner_times in zip(cases, times):
        result = {}
        for kind, values in runner_times.items():
            median = statistics.median(values)
            result[f'{kind}_time'] = median
            result[kind] = case.batch_size / median
        results.append(result)
    return results
