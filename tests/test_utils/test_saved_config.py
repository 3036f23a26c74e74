"""Reading the config a checkpoint saves, without running it."""
from mmengine.config import Config

from mmsplitmix.utils.saved_config import (UNREADABLE, read_saved_config,
                                           saved_model_config)


def test_reads_the_config_mmengine_saves():
    """mmengine's Runner saves ``cfg.pretty_text``: read back as it was."""
    model = dict(
        type='ImageClassifier',
        backbone=dict(
            type='SplitMixer',
            arch=dict(embed_dims=16, depth=2, patch_size=4, kernel_size=3),
            mixer_setting='III',
            act_cfg=dict(type='ReLU'),
            out_indices=(0, 1)),
        head=dict(type='LinearClsHead', num_classes=3, topk=[1, 5]))
    text = Config(dict(model=model, lr=0.5, milestones=[(0, 0),
                                                        (0.4, 1)])).pretty_text
    saved = read_saved_config(text)
    assert saved['model'] == model
    assert saved['lr'] == 0.5
    assert saved['milestones'] == [(0, 0), (0.4, 1)]
    checkpoint = dict(meta=dict(cfg=text), state_dict={})
    assert saved_model_config(checkpoint) == model


def test_code_in_a_saved_config_is_not_run(tmp_path):
    marker = tmp_path / 'ran'
    text = (f"model = dict(type=open({str(marker)!r}, 'w').write('x'))\n"
            f"import os\nos.system('touch {marker}')\n"
            'lr = 1 + 2\n')
    saved = read_saved_config(text)
    assert saved['model'] == dict(type=UNREADABLE)
    assert saved['lr'] is UNREADABLE
    assert not marker.exists()


def test_no_saved_config():
    assert read_saved_config('model = dict(') == {}
    assert saved_model_config({'state_dict': {}}) is None
    assert saved_model_config(dict(meta=dict(cfg=None))) is None
    assert saved_model_config(dict(meta=dict(cfg='model = 3'))) is None
    assert saved_model_config([1, 2]) is None
