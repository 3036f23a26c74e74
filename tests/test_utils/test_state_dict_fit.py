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
