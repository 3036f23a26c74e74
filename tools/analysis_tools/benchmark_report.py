"""Tables, JSON files and charts of benchmark results.

A measurement is a dict with the keys ``name``, ``mode``, ``input_shape``
(C, H, W), ``batch_size``, ``params``, ``flops`` and, for ``kind`` in
inference and training, ``kind`` (images per second, None where the mode
has no such step), ``{kind}_time`` and ``{kind}_first_time`` (seconds),
and optionally ``width`` and ``depth`` (of an isotropic backbone).
:func:`best_modes` keeps each model's best mode per kind of step, and
:func:`add_speedups` compares each model with its baseline: the first model
of the same input shape, batch size, width and depth.
"""
import json
from typing import Dict, List, Sequence

from mmsplitmix.analysis import format_millions

KINDS = ('inference', 'training')


def comparison_key(result: dict) -> tuple:
    """What models compared with one another share: input shape, batch
    size, width and depth."""
    return (tuple(result['input_shape']), result['batch_size'],
            result.get('width'), result.get('depth'))


def best_modes(measurements: Sequence[dict]) -> List[dict]:
    """One result per model (in order of first appearance): for each kind
    of step, the throughput of its fastest mode, that mode
    (``{kind}_mode``), and the extra time its first step took
    (``{kind}_compile_time``: first step minus median step, the cost of
    compiling in compile modes); all None for a kind no mode of the model
    has (training, when only deploy modes were measured)."""
    by_name: Dict[str, dict] = {}
    for m in measurements:
        best = by_name.setdefault(
            m['name'], {
                key: value
                for key, value in m.items()
                if key not in ('mode', ) and not key.startswith(KINDS)
            })
        for kind in KINDS:
            for key in ('', '_mode', '_time', '_compile_time'):
                best.setdefault(kind + key, None)
        for kind in KINDS:
            if m[kind] is None or (best.get(kind) is not None
                                   and best[kind] >= m[kind]):
                continue
            best.update({
                kind:
                m[kind],
                f'{kind}_mode':
                m['mode'],
                f'{kind}_time':
                m[f'{kind}_time'],
                f'{kind}_compile_time':
                max(0.0, m[f'{kind}_first_time'] - m[f'{kind}_time'])
            })
    return list(by_name.values())


def add_speedups(results: Sequence[dict]) -> List[dict]:
    """Copies of ``results`` compared with their baselines.

    The baseline of a result is the first result of the same input shape,
    batch size, width and depth (its own when it is the first). Added:
    ``baseline`` (its name), ``flop_ratio`` (the baseline's FLOPs over the
    result's), ``{kind}_speedup`` (the throughput over the baseline's) and
    ``{kind}_flop_share`` (the speed-up over the FLOP ratio: 1 where the
    speed-up is what the saved FLOPs promise), None where a throughput is
    missing.
    """
    baselines: Dict[tuple, dict] = {}
    out = []
    for result in results:
        base = baselines.setdefault(comparison_key(result), result)
        result = dict(result)
        result['baseline'] = base['name']
        result['flop_ratio'] = base['flops'] / result['flops'] \
            if result['flops'] else None
        for kind in KINDS:
            speedup = None if not (result[kind] and base[kind]) \
                else result[kind] / base[kind]
            result[f'{kind}_speedup'] = speedup
            result[f'{kind}_flop_share'] = None if not (
                speedup and result['flop_ratio']) \
                else speedup / result['flop_ratio']
        out.append(result)
    return out


def _speedup_cell(result: dict, kind: str) -> str:
    """'1.41x (63 %)': the speed-up and its share of the FLOP ratio, which
    a baseline's own row leaves out."""
    speedup = result.get(f'{kind}_speedup')
    if speedup is None:
        return '-'
    share = result.get(f'{kind}_flop_share')
    if share is None or result.get('baseline') == result['name']:
        return f'{speedup:.2f}x'
    return f'{speedup:.2f}x ({100 * share:.0f} %)'


def _cell(value, fmt: str, unit: str = '') -> str:
    """A table cell: ``value`` formatted, or '-' for None."""
    return '-' if value is None else format(value, fmt) + unit


def format_table(results: Sequence[dict]) -> str:
    """A Markdown table of each model at its best (see :func:`best_modes`
    and :func:`add_speedups`): the speed-ups over the baseline, with their
    share of the FLOP ratio in brackets."""
    header = ('| Model | Input | Batch | Params | FLOPs | FLOP ratio '
              '| Inference (img/s) | Inference mode | Training (img/s) '
              '| Training mode | Inference speed-up | Training speed-up |')
    lines = [header, '|' + '|'.join(['---'] * 12) + '|']
    for r in results:
        c, h, w = r['input_shape']
        lines.append(f"| {r['name']} | {h}x{w} | {r['batch_size']} "
                     f"| {format_millions(r['params'])} "
                     f"| {format_millions(r['flops'], 1)} "
                     f"| {_cell(r.get('flop_ratio'), '.2f')} "
                     f"| {_cell(r['inference'], '.2f')} "
                     f"| {_cell(r['inference_mode'], '')} "
                     f"| {_cell(r['training'], '.2f')} "
                     f"| {_cell(r['training_mode'], '')} "
                     f"| {_speedup_cell(r, 'inference')} "
                     f"| {_speedup_cell(r, 'training')} |")
    return '\n'.join(lines)


def format_modes_table(measurements: Sequence[dict]) -> str:
    """A Markdown table of every model in every mode measured, with the
    time of the first step apart (it includes compiling)."""

    lines = [
        '| Model | Mode | Inference (img/s) | Training (img/s) '
        '| First inference step (s) | First training step (s) |',
        '|' + '|'.join(['---'] * 6) + '|'
    ]
    for m in measurements:
        lines.append(f"| {m['name']} | {m['mode']} "
                     f"| {_cell(m['inference'], '.1f')} "
                     f"| {_cell(m['training'], '.1f')} "
                     f"| {_cell(m['inference_first_time'], '.2f')} "
                     f"| {_cell(m['training_first_time'], '.2f')} |")
    return '\n'.join(lines)


def write_json(path: str, results: Sequence[dict],
               measurements: Sequence[dict], settings: dict) -> None:
    """Write ``dict(settings=..., results=..., measurements=...)`` to
    ``path`` as JSON: the best modes and every mode measured."""
    with open(path, 'w', encoding='utf-8') as file:
        json.dump(
            dict(
                settings=settings,
                results=list(results),
                measurements=list(measurements)),
            file,
            indent=2)
        file.write('\n')


def plot_throughput(path: str, results: Sequence[dict], title: str) -> None:
    """Save a chart of inference and training throughput (each model at its
    best mode) against FLOPs.

    One column of panels per input size and batch size, one row per kind of
    step; both axes start at zero, so that heights and distances read as
    ratios. Every point is labelled with its model name, and a dotted curve
    through each baseline (see :func:`add_speedups`) marks the throughput
    of a model as fast as the baseline per FLOP: a model on it turns its
    saved FLOPs into speed in full.

    Args:
        path (str): Image file to write (PNG recommended).
        results (Sequence[dict]): Benchmark results, with speed-ups.
        title (str): Title of the figure (device and settings).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    groups: Dict[tuple, List[dict]] = {}
    for r in results:
        key = tuple(r['input_shape'][1:]), r.get('batch_size')
        groups.setdefault(key, []).append(r)
    fig, axes = plt.subplots(
        2,
        len(groups),
        figsize=(6 * len(groups), 9),
        squeeze=False,
        sharex='col')
    for column, ((size, batch), group) in enumerate(groups.items()):
        names = {r['name']: r for r in group}
        xmax = max(r['flops'] for r in group) / 1e6 * 1.1
        for row, kind in enumerate(KINDS):
            ax = axes[row][column]
            points = [r for r in group if r[kind] is not None]
            ax.scatter([r['flops'] / 1e6 for r in points],
                       [r[kind] for r in points])
            for r in points:
                ax.annotate(
                    r['name'].split('_')[0], (r['flops'] / 1e6, r[kind]),
                    textcoords='offset points',
                    xytext=(4, 4),
                    fontsize=7)
            for base in {r.get('baseline') for r in points} - {None}:
                base = names.get(base)
                if base is None or base[kind] is None:
                    continue
                flops = np.linspace(xmax / 20, xmax, 100)
                ax.plot(
                    flops,
                    base[kind] * base['flops'] / 1e6 / flops,
                    ':',
                    color='grey',
                    linewidth=1)
            ax.set_xlim(0, xmax)
            ax.set_ylim(0, 1.3 * max([r[kind] for r in points], default=1))
            ax.set_title(f'{kind}, {size[0]}x{size[1]} px, batch {batch}')
            ax.set_xlabel('FLOPs per image (M)')
            ax.set_ylabel('images / s')
            ax.grid(True, alpha=0.3)
    fig.suptitle(f'{title}; dotted: as fast per FLOP as the baseline')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
