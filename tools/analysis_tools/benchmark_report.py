"""Tables, JSON files and charts of benchmark results.

A measurement is a dict with the keys ``name``, ``mode``, ``input_shape``
(C, H, W), ``batch_size``, ``params``, ``flops`` and, for ``kind`` in
inference and training, ``kind`` (images per second, None where the mode
has no such step), ``{kind}_time`` and ``{kind}_first_time`` (seconds).
:func:`best_modes` keeps each model's best mode per kind of step, and
:func:`add_speedups` adds ``inference_speedup`` and ``training_speedup``:
the throughput over that of the first model with the same input shape and
batch size.
"""
import json
from typing import Dict, List, Sequence

from mmsplitmix.analysis import format_millions

KINDS = ('inference', 'training')


def _group_key(result: dict):
    return tuple(result['input_shape']), result['batch_size']


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
    """Copies of ``results`` with the speed-up over the first result of
    their group (same input shape and batch size)."""
    baselines: Dict[tuple, dict] = {}
    out = []
    for result in results:
        base = baselines.setdefault(_group_key(result), result)
        result = dict(result)
        for kind in KINDS:
            result[f'{kind}_speedup'] = None if not (
                result[kind] and base[kind]) else result[kind] / base[kind]
        out.append(result)
    return out


def _cell(value, fmt: str, unit: str = '') -> str:
    """A table cell: ``value`` formatted, or '-' for None."""
    return '-' if value is None else format(value, fmt) + unit


def format_table(results: Sequence[dict]) -> str:
    """A Markdown table of each model at its best (see :func:`best_modes`
    and :func:`add_speedups`)."""
    header = ('| Model | Input | Batch | Params | FLOPs | Inference (img/s) '
              '| Inference mode | Training (img/s) | Training mode '
              '| Inference speed-up | Training speed-up |')
    lines = [header, '|' + '|'.join(['---'] * 11) + '|']
    for r in results:
        c, h, w = r['input_shape']
        lines.append(f"| {r['name']} | {h}x{w} | {r['batch_size']} "
                     f"| {format_millions(r['params'])} "
                     f"| {format_millions(r['flops'], 1)} "
                     f"| {_cell(r['inference'], '.1f')} "
                     f"| {_cell(r['inference_mode'], '')} "
                     f"| {_cell(r['training'], '.1f')} "
                     f"| {_cell(r['training_mode'], '')} "
                     f"| {_cell(r['inference_speedup'], '.2f', 'x')} "
                     f"| {_cell(r['training_speedup'], '.2f', 'x')} |")
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

    One panel per kind of step; one marker per input size; every point is
    labelled with its model name.

    Args:
        path (str): Image file to write (PNG recommended).
        results (Sequence[dict]): Benchmark results.
        title (str): Title of the figure (device and settings).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    markers = 'os^Dv<>p*h'
    sizes = sorted({tuple(r['input_shape'][1:]) for r in results})
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, kind in zip(axes, ('inference', 'training')):
        for index, size in enumerate(sizes):
            group = [
                r for r in results
                if tuple(r['input_shape'][1:]) == size and r[kind] is not None
            ]
            ax.scatter([r['flops'] / 1e6 for r in group],
                       [r[kind] for r in group],
                       marker=markers[index % len(markers)],
                       label=f'{size[0]}x{size[1]}')
            for r in group:
                ax.annotate(
                    r['name'], (r['flops'] / 1e6, r[kind]),
                    textcoords='offset points',
                    xytext=(4, 4),
                    fontsize=7)
        ax.set_xlabel('FLOPs per image (M)')
        ax.set_ylabel('images / s')
        ax.set_title(f'{kind} throughput')
        # from zero, so that heights and distances read as ratios
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(title='input')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
