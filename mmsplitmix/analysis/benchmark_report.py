"""Tables, JSON files and charts of benchmark results.

A result is a dict with the keys ``name``, ``input_shape`` (C, H, W),
``batch_size``, ``params``, ``flops``, ``inference`` and ``training``
(images per second). :func:`add_speedups` adds ``inference_speedup`` and
``training_speedup``: the throughput over that of the first result with the
same input shape and batch size.
"""
import json
from typing import Dict, List, Sequence

from .complexity import format_millions


def _group_key(result: dict):
    return tuple(result['input_shape']), result['batch_size']


def add_speedups(results: Sequence[dict]) -> List[dict]:
    """Copies of ``results`` with the speed-up over the first result of
    their group (same input shape and batch size)."""
    baselines: Dict[tuple, dict] = {}
    out = []
    for result in results:
        base = baselines.setdefault(_group_key(result), result)
        result = dict(result)
        for kind in ('inference', 'training'):
            result[f'{kind}_speedup'] = result[kind] / base[kind]
        out.append(result)
    return out


def format_table(results: Sequence[dict]) -> str:
    """A Markdown table of results (with speed-ups, see
    :func:`add_speedups`)."""
    header = ('| Model | Input | Batch | Params | FLOPs | Inference (img/s) '
              '| Training (img/s) | Inference speed-up | Training speed-up |')
    lines = [header, '|' + '|'.join(['---'] * 9) + '|']
    for r in results:
        c, h, w = r['input_shape']
        lines.append(f"| {r['name']} | {h}x{w} | {r['batch_size']} "
                     f"| {format_millions(r['params'])} "
                     f"| {format_millions(r['flops'], 1)} "
                     f"| {r['inference']:.1f} | {r['training']:.1f} "
                     f"| {r['inference_speedup']:.2f}x "
                     f"| {r['training_speedup']:.2f}x |")
    return '\n'.join(lines)


def write_json(path: str, results: Sequence[dict], settings: dict) -> None:
    """Write ``dict(settings=..., results=...)`` to ``path`` as JSON."""
    with open(path, 'w', encoding='utf-8') as file:
        json.dump(
            dict(settings=settings, results=list(results)), file, indent=2)
        file.write('\n')


def plot_throughput(path: str, results: Sequence[dict], title: str) -> None:
    """Save a chart of inference and training throughput against FLOPs.

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
            group = [r for r in results if tuple(r['input_shape'][1:]) == size]
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
        ax.grid(True, alpha=0.3)
        ax.legend(title='input')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
