"""DatasetPathVisualizationHook: drawings named after the dataset's paths,
chosen by dataset index."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.visualization import Visualizer
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample

import mmsplitmix  # noqa: F401
from mmsplitmix.engine import DatasetPathVisualizationHook
from mmsplitmix.engine.hooks.dataset_path_visualization_hook import (
    drawn_image_name, image_folder, inputs_are_bgr)

REPO = Path(__file__).resolve().parents[2]


def sample(index=None, path=None):
    metainfo = {}
    if index is not None:
        metainfo['sample_idx'] = index
    if path is not None:
        metainfo['img_path'] = path
    return DataSample(metainfo=metainfo).set_gt_label(0)


@pytest.fixture(autouse=True)
def current_visualizer():
    """The hook takes the current visualizer when built (then replaced by
    a recording one here)."""
    Visualizer.get_instance('dataset_path_visualization_hook_test')


class RecordingVisualizer:

    def __init__(self):
        self.calls = []

    def visualize_cls(self, image, data_sample, step, name, **kwargs):
        self.calls.append(
            dict(
                pixel=image[0, 0].tolist(),
                shape=image.shape,
                index=data_sample.get('sample_idx'),
                name=name,
                step=step,
                out_file=kwargs.get('out_file')))


@pytest.mark.parametrize('metainfo, folder, name', [
    (dict(index=4, path='/data/val/cat/001.jpg'), '/data/val', 'cat/001.jpg'),
    (dict(index=4, path='/data/val/cat/001.jpg'), '/data/val/', 'cat/001.jpg'),
    (dict(index=4, path='/elsewhere/cat/001.jpg'), '/data/val', '4_001.jpg'),
    (dict(index=4, path='/data/val/cat/001.jpg'), None, '4_001.jpg'),
    (dict(index=17), '/data/val', '17'),
])
def test_drawn_image_name(metainfo, folder, name):
    assert drawn_image_name(sample(**metainfo), folder) == name


def test_image_folder():
    assert image_folder(
        SimpleNamespace(data_prefix=dict(img_path='/data/val'))) == '/data/val'
    assert image_folder(SimpleNamespace(data_prefix=dict(img_path=''))) is None
    assert image_folder(object()) is None  # a dataset wrapper, say


def test_inputs_are_bgr_where_the_preprocessor_swaps_channels():
    from mmpretrain.models import ClsDataPreprocessor
    for to_rgb in (True, False):
        model = torch.nn.Module()
        model.data_preprocessor = ClsDataPreprocessor(to_rgb=to_rgb)
        assert inputs_are_bgr(model) is to_rgb
    assert inputs_are_bgr(torch.nn.Linear(1, 1)) is False


@pytest.mark.parametrize('dataset_config, bgr', [('cifar10_bs512.py', False),
                                                 ('food101_bs128.py', True)])
def test_drawings_of_the_paper_datasets_keep_their_colours(
        dataset_config, bgr):
    """CIFAR's arrays are RGB (``to_rgb=False``), image files BGR: only the
    latter are swapped before drawing."""
    from mmengine.config import Config
    from mmpretrain.models import ClsDataPreprocessor
    cfg = Config.fromfile(
        str(REPO / 'configs' / '_base_' / 'datasets' / dataset_config))
    model = torch.nn.Module()
    model.data_preprocessor = ClsDataPreprocessor(**cfg.data_preprocessor)
    assert inputs_are_bgr(model) is bgr


def draw(hook, batch_idx, samples, step=0):
    images = torch.zeros(len(samples), 3, 4, 5, dtype=torch.uint8)
    images[:, 0] = 10  # the first channel
    hook._draw_samples(batch_idx, dict(inputs=images), samples, step)


def test_draws_by_dataset_index_under_dataset_paths():
    hook = DatasetPathVisualizationHook(
        enable=True, interval=2, out_dir='shown')
    hook._visualizer = RecordingVisualizer()
    bgr_model = torch.nn.Module()
    bgr_model.data_preprocessor = SimpleNamespace(to_rgb=True)
    runner = SimpleNamespace(
        model=bgr_model,
        test_loop=SimpleNamespace(
            dataloader=SimpleNamespace(
                dataset=SimpleNamespace(
                    data_prefix=dict(img_path='/data/val')))))
    hook.before_test(runner)
    # a distributed process's batch: indices of its own, not from 0
    draw(hook, 0, [
        sample(5, '/data/val/dog/0.png'),
        sample(6, '/data/val/dog/1.png'),
        sample(8, '/data/val/cat/0.png')
    ])
    calls = hook._visualizer.calls
    assert [call['index'] for call in calls] == [6, 8]
    assert [call['name'] for call in calls] == ['dog/1.png', 'cat/0.png']
    assert [call['out_file'] for call in calls
            ] == ['shown/dog/1.png_0.png', 'shown/cat/0.png_0.png']
    assert calls[0]['shape'] == (4, 5, 3)
    assert calls[0]['pixel'] == [0, 0, 10]  # BGR drawn as RGB


def test_disabled_draws_nothing_and_samples_without_index_as_mmpretrain():
    hook = DatasetPathVisualizationHook(enable=False)
    hook._visualizer = RecordingVisualizer()
    draw(hook, 0, [sample(0, '/data/val/a.png')])
    assert hook._visualizer.calls == []
    hook = DatasetPathVisualizationHook(enable=True, interval=1, out_dir='o')
    hook._visualizer = RecordingVisualizer()
    draw(hook, 1, [sample(path='/data/val/cat/a.png')], step=3)
    assert [(call['name'], call['out_file'], call['pixel'])
            for call in hook._visualizer.calls] == [('a.png', 'o/a.png_3.png',
                                                     [10, 0, 0])]
    assert HOOKS.get('DatasetPathVisualizationHook') is \
        DatasetPathVisualizationHook
