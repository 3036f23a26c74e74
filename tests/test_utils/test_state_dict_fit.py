import pytest
import torch

from mmsplitmix.utils import (CheckpointMismatchError, check_checkpoint_fits,
                              compare_state_dict)


def model():
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))


def test_an_exact_checkpoint_fits_with_or_without_the_ddp_prefix():
    state = model().state_dict()
    assert check_checkpoint_fits(model(), dict(state_dict=state)).exact
    prefixed = {f'module.{k}': v for k, v in state.items()}
    assert check_checkpoint_fits(model(), prefixed).exact
    # BatchNorm counters may be absent (older checkpoints).
    state.pop('1.num_batches_tracked')
    assert compare_state_dict(model(), state).exact


def test_a_checkpoint_that_does_not_fit_is_refused_with_the_differences():
    state = model().state_dict()
    state['0.weight'] = torch.zeros(5, 4)
    state.pop('1.running_var')
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_fits(model(), dict(state_dict=state), 'x.pth')
    message = str(info.value)
    assert message.startswith("Checkpoint 'x.pth' does not fit the model of "
                              'the config (Sequential): ')
    assert ('1 of another shape: 0.weight (checkpoint [5, 4], model [3, 4])'
            in message)
    assert '1 missing from the checkpoint: 1.running_var' in message
    assert '1 in the checkpoint but not in the model: extra.weight' in message


def backbone(**kwargs):
    return dict(
        backbone=dict(
            type='SplitMixer',
            arch=dict(embed_dims=16, depth=2, patch_size=2, kernel_size=3),
            **kwargs))


def test_settings_ii_and_iii_have_the_same_weights_but_are_told_apart():
    """Their state dicts agree in names and shapes: only the saved config
    tells a setting-II checkpoint from a setting-III one."""
    from mmpretrain.registry import MODELS

    import mmsplitmix  # noqa: F401
    from mmsplitmix.utils.state_dict_fit import check_same_backbone_function
    ii = MODELS.build(backbone(mixer_setting='II')['backbone'])
    iii = MODELS.build(backbone(mixer_setting='III')['backbone'])
    assert compare_state_dict(iii, ii.state_dict()).exact
    with pytest.raises(CheckpointMismatchError) as info:
        check_same_backbone_function(
            backbone(mixer_setting='II'), backbone(mixer_setting='III'),
            'ii.pth')
    assert str(info.value).startswith(
        "Checkpoint 'ii.pth' was trained with backbone mixer_setting='II' "
        '(the config saved in it), but the model of this config has '
        "mixer_setting='III'")
    # defaults count: no mixer_setting is setting I, GELU
    check_same_backbone_function(
        backbone(mixer_setting='I'), backbone(act_cfg=dict(type='GELU')))
    with pytest.raises(CheckpointMismatchError, match="act_cfg={'type'"):
        check_same_backbone_function(
            backbone(act_cfg=dict(type='ReLU')), backbone())


def test_backbone_function_check_skips_what_it_cannot_read():
    from mmsplitmix.utils.saved_config import UNREADABLE
    from mmsplitmix.utils.state_dict_fit import check_same_backbone_function
    current = backbone(mixer_setting='III')
    for saved in (None, {}, dict(backbone=UNREADABLE),
                  backbone(mixer_setting=UNREADABLE),
                  dict(backbone=dict(type='NoSuchBackbone'))):
        check_same_backbone_function(saved, current)
    # ConvMixer and SplitMixer share act_cfg only
    convmixer = dict(backbone=dict(type='ConvMixer'))
    check_same_backbone_function(convmixer, current)
    with pytest.raises(CheckpointMismatchError, match='act_cfg'):
        check_same_backbone_function(convmixer,
                                     backbone(act_cfg=dict(type='ReLU')))
