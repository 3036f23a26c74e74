"""mmpretrain's ``VisualizationHook``, with every drawn image named after
its place in the dataset, so that no two drawings overwrite each other, and
drawn in its own colours."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.fileio import join_path
from mmpretrain.engine.hooks import VisualizationHook
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample

from ..checkpoint_fit import bare_model


def image_folder(dataset) -> Optional[str]:
    """The folder the image paths of ``dataset`` start from (its
    ``data_prefix['img_path']``), or None where it has none."""
    prefix = getattr(dataset, 'data_prefix', None)
    folder = prefix.get('img_path') if isinstance(prefix, dict) else None
    return folder or None


def inputs_are_bgr(model) -> bool:
    """Whether the images of the data pipeline are BGR: the model's data
    preprocessor (mmpretrain's ``ClsDataPreprocessor``) turns them to RGB
    for the network (``to_rgb=True``), as mmcv reads image files in BGR
    order."""
    preprocessor = getattr(bare_model(model), 'data_preprocessor', None)
    return bool(getattr(preprocessor, 'to_rgb', False))


def drawn_image_name(data_sample: DataSample,
                     folder: Optional[str] = None) -> str:
    """The name of the drawing of one sample, before the step suffix.

    * An image file inside ``folder``: its path relative to the folder,
      subfolders kept (``cat/001.jpg``); one folder per class then keeps
      the class folders apart.
    * Another image file: its dataset index, then its file name
      (``17_001.jpg``).
    * An image without a file (CIFAR's arrays): its dataset index
      (``17``).
    """
    index = data_sample.get('sample_idx')
    path = data_sample.get('img_path')
    if path is None:
        return str(index)
    if folder:
        relative = osp.relpath(path, folder)
        if not relative.startswith(os.pardir):
            return relative
    return f'{index}_{osp.basename(path)}'


@HOOKS.register_module()
class DatasetPathVisualizationHook(VisualizationHook):
    """Draw predictions as mmpretrain's ``VisualizationHook`` does, naming
    each drawing after its sample's place in the dataset.

    mmpretrain's hook names a drawing after the image's file name alone,
    and counts samples by batch: images of the same name in different
    folders (``cat/001.jpg`` and ``dog/001.jpg``), or samples of different
    processes in distributed testing, overwrite each other. This hook
    names it by :func:`drawn_image_name`, as
    ``OUT_DIR/<name>_<step>.png`` (``shown/cat/001.jpg_0.png``), and draws
    the samples whose dataset index is a multiple of ``interval``, in any
    process. mmpretrain's hook also hands the visualizer, which takes RGB,
    the BGR images that files are read as, so that red is drawn blue; this
    hook turns them to RGB first where the model's data preprocessor says
    they are BGR (``to_rgb=True``). Samples without a ``sample_idx`` (a
    pipeline whose ``PackInputs`` leaves it out) are drawn as mmpretrain's
    hook draws them. ``tools/test.py --show-dir`` uses it in place of
    ``VisualizationHook``; the arguments are the same.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._folder = None
        self._bgr = False

    def before_val(self, runner) -> None:
        self._read_run(runner, runner.val_loop)

    def before_test(self, runner) -> None:
        self._read_run(runner, runner.test_loop)

    def _read_run(self, runner, loop) -> None:
        """Where the loop's images come from, and in which channel order."""
        self._folder = image_folder(loop.dataloader.dataset)
        self._bgr = inputs_are_bgr(runner.model)

    def _draw_samples(self,
                      batch_idx: int,
                      data_batch: dict,
                      data_samples: Sequence[DataSample],
                      step: int = 0) -> None:
        if self.enable is False:
            return
        if any(sample.get('sample_idx') is None for sample in data_samples):
            super()._draw_samples(batch_idx, data_batch, data_samples, step)
            return
        for image, sample in zip(data_batch['inputs'], data_samples):
            if sample.get('sample_idx') % self.interval:
                continue
            name = drawn_image_name(sample, self._folder)
            if self.out_dir is not None:
                self.draw_args['out_file'] = join_path(self.out_dir,
                                                       f'{name}_{step}.png')
            image = image.permute(1, 2, 0).cpu().numpy().astype('uint8')
            if self._bgr:
                image = np.ascontiguousarray(image[..., ::-1])
            self._visualizer.visualize_cls(
                image=image,
                data_sample=sample,
                step=step,
                name=name,
                **self.draw_args)
