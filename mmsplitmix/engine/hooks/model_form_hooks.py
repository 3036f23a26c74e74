"""Hooks that run a model in a faster form computing the same function:
the channels-last memory format, a compiled backbone for training, and the
deploy form and a compiled backbone for evaluation. ``tools/train.py
--channels-last --compile`` and ``tools/test.py --channels-last --deploy
--compile`` add them; a config can list them in ``custom_hooks`` too."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from mmsplitmix.models.speed_modes import (check_compile_options,
                                           compile_backbone,
                                           deployable_modules,
                                           switch_to_deploy, to_channels_last)
from ..checkpoint_fit import bare_model


def _inputs_to_channels_last(module, args, output):
    """Forward hook of a data preprocessor: its 4-D image batch becomes
    channels-last."""
    if isinstance(output, dict):
        inputs = output.get('inputs')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            output['inputs'] = inputs.contiguous(
                memory_format=torch.channels_last)
    return output


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Run the model in the channels-last memory format.

    The data preprocessor's image batches become channels-last, and every
    convolution, activation and normalization keeps that layout from there
    on. Where the model is not wrapped for distributed training, its 4-D
    weights are stored channels-last too (a wrapped model keeps its
    weights, so that the gradient buckets of distributed training keep
    their layout). Outputs are unchanged up to float rounding.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = bare_model(runner.model)
        if not is_model_wrapper(runner.model):
            to_channels_last(model)
        preprocessor = getattr(model, 'data_preprocessor', None)
        if preprocessor is None:
            raise ValueError(
                f'ChannelsLastHook needs a model with a data_preprocessor; '
                f'{type(model).__name__} has none')
        preprocessor.register_forward_hook(_inputs_to_channels_last)
        runner.logger.info('The model runs in the channels-last memory '
                           'format.')


@HOOKS.register_module()
class CompiledBackboneHook(Hook):
    """Train with the backbone compiled by ``torch.compile``.

    The backbone (the whole model if it has none) is compiled in
    ``before_train``: after the runner has built the model, loaded or
    resumed its checkpoint and wrapped it for distributed training. Its
    forward and backward passes then run compiled, in training and in the
    validation between epochs; the state dict keeps its keys. The rest of
    the training step runs as it is: the data preprocessor, the neck, the
    head and its loss, the optimizer wrapper and mmengine's logging.

    mmengine's own ``compile=True`` in a config compiles the whole
    ``train_step`` instead. Dynamo then traces the optimizer wrapper and
    the message hub's history buffers too, and compiles them again each
    time a logged value, the learning rate or the wrapper's iteration
    count changes, until its recompile limit. ``tools/train.py --compile``
    adds this hook instead.

    Args:
        **options: Keyword arguments of ``torch.compile``, e.g.
            ``mode='max-autotune'``.
    """

    def __init__(self, **options):
        check_compile_options(options)
        self.options = options

    def before_train(self, runner) -> None:
        target = compile_backbone(bare_model(runner.model), **self.options)
        runner.logger.info(
            f'{type(target).__name__} is compiled for training; the first '
            'iterations are slow while it compiles.')


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Evaluate the model in its deploy form and/or compiled.

    For evaluation and inference only (``tools/test.py``): a deploy form
    (mmpretrain's ``switch_to_deploy()`` convention) is not meant to be
    trained. The model is switched and compiled in ``before_test``, after
    the runner has loaded the checkpoint into its ordinary form: deploy
    forms that fuse their weights (RepVGG's, for one) then fuse the loaded
    ones. A model without a deploy form is refused in ``before_run``,
    before anything is loaded.

    Args:
        deploy (bool): Switch every module that offers a deploy form to it;
            a model without one is an error. Defaults to True.
        compile (bool | dict): ``torch.compile`` the backbone (the whole
            model if it has no backbone), with these options if a dict.
            The first batches are slow while it compiles. Defaults to False.
    """
    priority = 'VERY_HIGH'

    def __init__(self, deploy: bool = True, compile=False):
        if not isinstance(deploy, bool):
            raise TypeError(
                f'deploy must be a bool, got {type(deploy).__name__}')
        if not isinstance(compile, (bool, dict)):
            raise TypeError('compile must be a bool or a dict of '
                            f'torch.compile options, got '
                            f'{type(compile).__name__}')
        if isinstance(compile, dict):
            check_compile_options(compile)
        self.deploy = deploy
        self.compile = compile

    def before_run(self, runner) -> None:
        model = bare_model(runner.model)
        if self.deploy and not deployable_modules(model):
            raise ValueError(
                f'{type(model).__name__} (backbone '
                f'{type(getattr(model, "backbone", model)).__name__}) '
                'has no deploy form: no module offers '
                'switch_to_deploy(); evaluate it without --deploy')

    def before_test(self, runner) -> None:
        model = bare_model(runner.model)
        if self.deploy:
            model.eval()
            switch_to_deploy(model)
            runner.logger.info('The model runs in its deploy form.')
        if self.compile is not False:
            options = {} if self.compile is True else self.compile
            target = compile_backbone(model, **options)
            runner.logger.info(
                f'{type(target).__name__} is compiled; the first batches '
                'are slow while it compiles.')
