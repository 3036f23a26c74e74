"""mmengine's CheckpointHook with crash-safe saving."""
import hashlib
import inspect
import os.path as osp
import pickle

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import save_checkpoint
from mmpretrain.registry import HOOKS

from mmsplitmix.utils.atomic_io import (atomic_write, atomic_write_text,
                                        remove_stale_temporary_files)
from mmsplitmix.utils.checkpoint import load_checkpoint_file
from mmsplitmix.utils.tool_args import ConfigError


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints so that no crash loses a resumable one.

    Takes the arguments of mmengine's :class:`~mmengine.hooks.CheckpointHook`
    and saves the same files, with three differences for checkpoints on the
    local file system:

    * every checkpoint is written to a temporary file in the same folder,
      flushed to the disk and then renamed over its final name, so a kill
      or a full disk during a save leaves every earlier checkpoint, and a
      file being rewritten (``save_best`` saves the epoch's checkpoint a
      second time), complete;
    * ``last_checkpoint`` is written the same way, after the checkpoint it
      names is on the disk;
    * checkpoints beyond ``max_keep_ckpts`` and the previous best checkpoint
      are removed only after the new one is on the disk.

    A failed write (for example a full disk) raises
    :class:`~mmsplitmix.utils.atomic_io.CheckpointSaveError`, naming the
    file. Other storage backends are handled as by mmengine.
    """

    def _local(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def before_run(self, runner) -> None:
        """Refuse, before training, arguments that mmengine's hook would
        hand on to ``runner.save_checkpoint`` at the first save and that it
        does not take (a misspelt ``interval``, say)."""
        super().before_run(runner)
        if not self.args:
            return
        parameters = inspect.signature(runner.save_checkpoint).parameters
        if any(parameter.kind is inspect.Parameter.VAR_KEYWORD
               for parameter in parameters.values()):
            return
        unknown = sorted(set(self.args) - set(parameters))
        if unknown:
            own = [
                name for name in inspect.signature(
                    CheckpointHook.__init__).parameters
                if name not in ('self', 'kwargs')
            ]
            raise ConfigError(
                f'default_hooks.checkpoint has unknown arguments {unknown}: '
                f'the hook takes {own}, and hands other arguments on to '
                f'{type(runner).__name__}.save_checkpoint, which takes none '
                'of these')

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._local() and is_main_process():
            remove_stale_temporary_files(self.out_dir)

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)

    def _save_atomically(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` into ``out_dir/filename`` through a
        temporary file (only the main process writes)."""
        path = self.file_backend.join_path(self.out_dir, filename)

        def write(tmp_path):
            runner.save_checkpoint(
                self.out_dir,
                osp.basename(tmp_path),
                self.file_client_args,
                backend_args=self.backend_args,
                **kwargs)

        if is_main_process():
            atomic_write(path, write, what='checkpoint')
        else:
            # Every rank calls it, as mmengine's CheckpointHook does: the
            # Runner's writes on rank 0 only, while a runner that shards
            # the model (FlexibleRunner) gathers the state from all ranks.
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                backend_args=self.backend_args,
                **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = []
        keep = self.keep_ckpt_ids if self.max_keep_ckpts > 0 else None
        if keep is not None and not (keep and keep[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomically(
            runner,
            filename,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'),
            self.last_ckpt,
            what='the pointer to the latest checkpoint')
        # Only now, with the new checkpoint safe, drop the outdated ones.
        for old_step in outdated:
            self._remove(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(old_step)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._local():
            return super()._save_best_checkpoint(runner, metrics)
        if not self.save_best:
            return
        if self.by_epoch:
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            cur_type, cur_time = 'iter', runner.iter
        ckpt_filename = self.filename_tmpl.format(cur_time)
        meta = dict(epoch=runner.epoch, iter=runner.iter)

        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        single = len(self.key_indicators) == 1
        best_ckpt_updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            key_score = metrics[key_indicator]
            if single:
                best_score_key, best_ckpt_key = 'best_score', 'best_ckpt'
                previous_best = self.best_ckpt_path
            else:
                best_score_key = f'best_score_{key_indicator}'
                best_ckpt_key = f'best_ckpt_{key_indicator}'
                previous_best = self.best_ckpt_path_dict[key_indicator]

            best_score = runner.message_hub.get_info(best_score_key,
                                                     self.init_value_map[rule])
            if key_score is None or not self.is_better_than[key_indicator](
                    key_score, best_score):
                continue
            best_ckpt_updated = True
            runner.message_hub.update_info(best_score_key, key_score)

            best_ckpt_name = f'best_{key_indicator}_{ckpt_filename}'
            best_ckpt_name = best_ckpt_name.replace('/', '_')
            best_path = self.file_backend.join_path(self.out_dir,
                                                    best_ckpt_name)
            if single:
                self.best_ckpt_path = best_path
            else:
                self.best_ckpt_path_dict[key_indicator] = best_path
            runner.message_hub.update_info(best_ckpt_key, best_path)
            self._save_atomically(
                runner,
                best_ckpt_name,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False)
            runner.logger.info(
                f'The best checkpoint with {key_score:0.4f} {key_indicator} '
                f'at {cur_time} {cur_type} is saved to {best_ckpt_name}.')
            if (previous_best and previous_best != best_path
                    and is_main_process()):
                self._remove(previous_best)
                runner.logger.info(
                    f'The previous best checkpoint {previous_best} is '
                    'removed')

        # Save the latest checkpoint again so that it records the new best
        # (mmengine does the same); it replaces the file atomically.
        if best_ckpt_updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)

    def _publish_model(self, runner, ckpt_path: str) -> None:
        """mmengine's publishing (keep ``published_keys``, add the hash to
        the name), written atomically."""
        if not self._local():
            return super()._publish_model(runner, ckpt_path)
        if not is_main_process():
            return
        checkpoint = load_checkpoint_file(ckpt_path, map_location='cpu')
        removed_keys = [
            key for key in checkpoint if key not in self.published_keys
        ]
        for key in removed_keys:
            checkpoint.pop(key)
        if removed_keys:
            runner.logger.info(
                f'Keys {removed_keys} are left out of the published '
                'checkpoint (not in published_keys).')
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        atomic_write(
            final_path,
            lambda tmp_path: save_checkpoint(checkpoint, tmp_path),
            what='published checkpoint')
        runner.logger.info(
            f'The checkpoint ({ckpt_path}) is published to {final_path}.')
