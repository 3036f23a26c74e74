"""The fastest a model can run op by op on this machine, from a roofline
measured on it, against how fast it runs.

The roofline is measured on this machine: the speed of a large fp32 matrix
product (GFLOP/s) and of copying tensors of 64 KB to 64 MB (GB/s, bytes
read plus bytes written). One inference step and one training step (forward,
cross-entropy, backward, AdamW) of each model run under a dispatch mode
that records every operator PyTorch executes: its FLOPs (matrix products
and convolutions, as ``torch.utils.flop_counter`` counts them) and the
bytes of its tensor inputs and outputs (views move nothing). An operator
cannot take less than its FLOPs at the matrix-product speed nor less than
its bytes at the copy speed of tensors of its size; the sum of these
per-operator bounds is the fastest the step can run on this machine when
executed operator by operator, as eager PyTorch executes it. Each step is
also timed, so the table gives how much of its bound a model reaches and
the ceiling of its speed-up over the first model as that one runs now: the
first model's measured time over this model's bound. Fusing operators
(fewer passes over memory) is the only way past a bound.

Example::

    python tools/analysis_tools/roofline.py \\
        mmpretrain::convmixer/convmixer-768-32_10xb64_in1k.py \\
        configs/splitmixer/splitmixer-i-768-32_10xb64_in1k.py --batch-size 4
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from config_inputs import (build_model_from_config, config_exists,
                           input_shape_for, load_config)
from device_info import describe_device
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

from mmsplitmix.models.speed_modes import to_channels_last


def _median_seconds(step, repeats: int = 5, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


#: Tensor sizes (bytes) whose copy speed the roofline measures: 64 KB, which
#: stays in the caches, to 64 MB, which does not.
COPY_SIZES = tuple(2**k for k in range(16, 27))


def measure_roofline(size: int = 1024, rows: int = 4096) -> dict:
    """``gemm_flops`` (FLOP/s of a ``rows x size`` by ``size x size`` fp32
    product) and ``copy_bytes`` (for each of :data:`COPY_SIZES`, bytes/s
    read plus written copying an fp32 tensor of that size into another) on
    this CPU."""
    a, b = torch.randn(rows, size), torch.randn(size, size)
    out = torch.empty(rows, size)
    gemm = _median_seconds(lambda: torch.mm(a, b, out=out))
    copy = {}
    for nbytes in COPY_SIZES:
        src, dst = torch.randn(nbytes // 4), torch.empty(nbytes // 4)
        copy[nbytes] = 2 * nbytes / _median_seconds(lambda: dst.copy_(src))
    return dict(gemm_flops=2 * rows * size * size / gemm, copy_bytes=copy)


def copy_speed(roofline: dict, moved: int) -> float:
    """The copy speed that bounds an operator moving ``moved`` bytes: that
    of the largest measured tensor size at most half of them (a copy moves
    its tensor twice), so that tensors small enough to stay in the caches
    count at the caches' speed. Smaller operators take the smallest size's
    speed."""
    speeds = roofline['copy_bytes']
    fitting = [nbytes for nbytes in speeds if 2 * nbytes <= moved]
    return speeds[max(fitting) if fitting else min(speeds)]


def _flops(func, args, kwargs, out) -> int:
    """FLOPs of an operator call, from ``torch.utils.flop_counter``'s
    formulas; a convolution's backward as the forward convolution once per
    gradient it computes (the library's backward formula ignores groups,
    which overcounts depthwise convolutions by their channels)."""
    packet = func.overloadpacket
    if packet is torch.ops.aten.convolution_backward:
        grad_out, inputs, weight, _, *conv_args, output_mask = args
        forward = flop_registry[torch.ops.aten.convolution](
            inputs, weight, None, *conv_args, out_val=grad_out)
        return forward * sum(bool(m) for m in output_mask[:2])
    if packet in flop_registry:
        return flop_registry[packet](*args, **kwargs, out_val=out)
    return 0


class OperatorTrace(TorchDispatchMode):
    """Records ``(operator, flops, bytes)`` of every operator run inside
    it; views and aliases move no bytes."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not func.is_view:
            flops = _flops(func, args, kwargs, out)
            written = tree_leaves(kwargs.get('out'))
            # an ``out=`` tensor is written once, not read
            returned = [
                t for t in tree_leaves(out) if not any(t is w for w in written)
            ]
            moved = sum(t.numel() * t.element_size()
                        for t in tree_leaves((args, kwargs)) + returned
                        if isinstance(t, torch.Tensor))
            self.ops.append((str(func.overloadpacket), flops, moved))
        return out


def trace_steps(model,
                input_shape,
                batch_size: int,
                channels_last: bool,
                repeats: int = 0) -> dict:
    """One inference and one training step, each as ``ops`` (its operator
    trace) and ``seconds`` (with ``repeats``, its median time over that
    many steps after one untimed step; else None)."""
    model = model.cpu()
    memory_format = torch.contiguous_format
    if channels_last:
        to_channels_last(model)
        memory_format = torch.channels_last
    inputs = torch.randn(batch_size,
                         *input_shape).to(memory_format=memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    targets = torch.zeros(batch_size, dtype=torch.long)

    def infer():
        model(inputs, mode='tensor')

    def train():
        logits = model(inputs, mode='tensor')
        F.cross_entropy(logits, targets).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def trace_and_time(step) -> dict:
        with OperatorTrace() as trace:
            step()
        seconds = _median_seconds(step, repeats, warmup=1) if repeats else None
        return dict(ops=trace.ops, seconds=seconds)

    model.eval()
    # no_grad rather than inference_mode, under which the trace would see
    # conv2d and linear before they become convolutions and matrix products
    with torch.no_grad():
        inference = trace_and_time(infer)
    model.train()
    return dict(inference=inference, training=trace_and_time(train))


def bound(ops, roofline: dict) -> dict:
    """FLOPs, bytes and the per-operator bound (seconds) of a trace."""
    seconds = sum(
        max(flops / roofline['gemm_flops'], moved /
            copy_speed(roofline, moved)) for _, flops, moved in ops)
    return dict(
        flops=sum(op[1] for op in ops),
        bytes=sum(op[2] for op in ops),
        seconds=seconds)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Bound the speed of models run op by op on this CPU by '
        'a roofline measured on it')
    parser.add_argument(
        'configs',
        nargs='+',
        help='config files or installed packages\' configs by name; the '
        'first is the baseline of the speed-up ceilings')
    parser.add_argument(
        '--batch-size', type=int, default=4, help='images per step')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='trace and time the models in the channels-last memory format')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timed steps of each kind per model, after one untimed step; '
        'the median is reported')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for name in ('batch_size', 'repeats'):
        if getattr(args, name) < 1:
            raise ValueError(f'--{name.replace("_", "-")} must be a positive '
                             f'int, got {getattr(args, name)}')
    missing = [path for path in args.configs if not config_exists(path)]
    if missing:
        raise FileNotFoundError(f'config files not found: {missing}')
    roofline = measure_roofline()
    copy = roofline['copy_bytes']
    print(f"{describe_device('cpu')}, fp32: matrix product "
          f"{roofline['gemm_flops'] / 1e9:.1f} GFLOP/s; copy (read + "
          'written) ' + ', '.join(f'{copy[n] / 1e9:.1f} GB/s at {n >> 20} MB'
                                  for n in (max(copy), 1 << 22, 1 << 20)) +
          '\n')
    print(
        '| Model | Step | GFLOP | GB moved | Bound (img/s) | Measured (img/s) '
        '| Share of bound | Speed-up ceiling |')
    print('|---|---|---|---|---|---|---|---|')
    baseline, rows = {}, []
    for path in args.configs:
        cfg = load_config(path)
        traces = trace_steps(
            build_model_from_config(cfg), input_shape_for(cfg, None),
            args.batch_size, args.channels_last, args.repeats)
        for kind in ('inference', 'training'):
            row = dict(
                name=path,
                kind=kind,
                measured=traces[kind]['seconds'],
                **bound(traces[kind]['ops'], roofline))
            base = baseline.setdefault(kind, row)
            print(f"| {path} | {kind} | {row['flops'] / 1e9:.1f} "
                  f"| {row['bytes'] / 1e9:.2f} "
                  f"| {args.batch_size / row['seconds']:.2f} "
                  f"| {args.batch_size / row['measured']:.2f} "
                  f"| {row['seconds'] / row['measured']:.0%} "
                  f"| {base['measured'] / row['seconds']:.2f}x |")
            rows.append(row)
    return roofline, rows


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
