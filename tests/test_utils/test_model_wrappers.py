"""The model inside test-time augmentation and distributed wrappers."""
from mmengine.model import BaseModel
from mmpretrain.models import AverageClsScoreTTA

from mmsplitmix.utils.model_wrappers import bare_model, bare_model_cfg


class Model(BaseModel):

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs


def test_bare_model_unwraps_test_time_augmentation():
    model = Model()
    assert bare_model(model) is model
    assert bare_model(AverageClsScoreTTA(module=model)) is model


def test_bare_model_cfg_unwraps_a_tta_model_config():
    model_cfg = dict(type='ImageClassifier', backbone=dict(type='SplitMixer'))
    tta_cfg = dict(type='AverageClsScoreTTA', module=model_cfg)
    assert bare_model_cfg(tta_cfg) is model_cfg
    assert bare_model_cfg(model_cfg) is model_cfg
    assert bare_model_cfg(None) is None
