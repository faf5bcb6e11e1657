"""Checkpoints: saving the last few whole, finding the last one, and restoring it only into the
model that wrote it.

TensorFlow's Saver writes a checkpoint's data, then replaces the `checkpoint` index in one
atomic rename: a save interrupted at any moment leaves the index naming the previous,
complete checkpoint. What it leaves half-written is removed (rundirs.remove_temporary_files).
"""
import glob
import os
import re
import shutil

from tfmnist import rundirs
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf

KEEP = 3  # checkpoints kept in a run directory: the newest ones
PREFIX = "model.ckpt"


class RunCheckpoints:
    """A run's checkpoints: its variables (default: the graph's) and step counter (default:
    the global step), saved whole and restored."""

    def __init__(self, variables=None, global_step=None):
        self.global_step = (tf.train.get_or_create_global_step() if global_step is None
                            else global_step)
        self.variables = tf.global_variables() if variables is None else variables
        self._saver = make_saver(self.variables)

    def step(self, sess):
        return int(sess.run(self.global_step))

    def restore(self, sess, run_dir, evaluator=None):
        """Restores run_dir's last checkpoint; returns its path. All of it to resume; with
        the evaluator (to evaluate), the variables of its output and the step: not the
        optimizer's (an eager run saved none)."""
        variables, saver = self.variables, self._saver
        if evaluator is not None:
            variables = evaluator.variables(self.variables)
            if self.global_step not in variables:
                variables.append(self.global_step)
            saver = make_saver(variables)
        return restore(sess, saver, run_dir, variables)

    def save(self, sess, run_dir, step, had_one):
        """Writes the checkpoint of `step` (see save()); had_one: one is there already."""
        return save(sess, self._saver, run_dir, step, had_one)

    def check_free_space(self, run_dir):
        check_free_space(run_dir, self.variables)


def make_saver(variables=None):
    """A Saver of `variables` (default: all of the graph's) that keeps the newest KEEP. No
    .meta files: the scripts rebuild their graphs from code. Relative paths in the index, so
    that a run directory can be moved."""
    return tf.train.Saver(variables, max_to_keep=KEEP, save_relative_paths=True)


def save(sess, saver, run_dir, step, had_one):
    """Writes the checkpoint of `step`; returns its path. Older ones beyond the newest KEEP,
    those of earlier processes included, are removed. A failure is a UsageError, and leaves
    the last checkpoint whole (had_one: there is one)."""
    try:
        path = saver.save(sess, os.path.join(run_dir, PREFIX), global_step=step,
                          write_meta_graph=False)
    except (tf.errors.OpError, OSError) as e:
        rundirs.remove_temporary_files(run_dir)
        raise UsageError("cannot save a checkpoint in %s: %s%s" % (
            run_dir, error_reason(e), "; the last one saved is still complete" if had_one
            else ""))
    # The Saver forgets what earlier processes saved (a run resumed, or killed and resumed).
    for _, old in saved(run_dir)[:-KEEP]:
        for name in glob.glob(glob.escape(old) + ".*"):
            try:
                os.remove(name)
            except OSError:  # gone already (another process's clean-up): nothing to keep
                pass
    return path


def saved(run_dir):
    """The checkpoint files in run_dir, by step: [(step, prefix)]."""
    found = []
    for index_file in glob.glob(os.path.join(glob.escape(run_dir), PREFIX + "-*.index")):
        match = re.search(r"model\.ckpt-(\d+)\.index$", index_file)
        if match:
            found.append((int(match.group(1)), index_file[:-len(".index")]))
    return sorted(found)


def latest(run_dir):
    """The prefix of the checkpoint that run_dir's `checkpoint` index names, checked whole;
    else a UsageError naming the file: there is none, the index is damaged, or the
    checkpoint's files are incomplete."""
    index = os.path.join(run_dir, "checkpoint")
    found = saved(run_dir)
    hint = "; the newest checkpoint there is %s" % found[-1][1] if found else ""
    if not os.path.isdir(run_dir):
        raise UsageError("no run in %s: the directory does not exist" % run_dir)
    if not os.path.exists(index):
        if found:
            raise UsageError("%s is missing: it names the checkpoint to restore%s" % (index, hint))
        if os.path.exists(os.path.join(run_dir, rundirs.METRICS_FILE)):
            raise UsageError("no checkpoint in %s: the run there finished (%s), but its "
                             "checkpoint files have been removed" % (run_dir,
                                                                     rundirs.METRICS_FILE))
        if os.path.exists(os.path.join(run_dir, rundirs.CONFIG_FILE)):
            raise UsageError("no checkpoint in %s: the run there stopped before its first "
                             "checkpoint (one is saved at the end of every epoch); start a new "
                             "run" % run_dir)
        raise UsageError("no checkpoint in %s%s: train first (without --resume or "
                         "--eval-only), or point --run-dir at a run that has one"
                         % (run_dir, rundirs.describe(run_dir)))
    try:
        rundirs.read_small_file(index)  # not a pipe, a device or a giant: TensorFlow would wait
        state = tf.train.get_checkpoint_state(run_dir)
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (index, e.strerror or e))
    except (ValueError, tf.errors.OpError):
        state = None
    if state is None:
        raise UsageError("%s is damaged: it names no checkpoint%s" % (index, hint))
    path = state.model_checkpoint_path
    if not os.path.isfile(path + ".index"):
        raise UsageError("%s names %s, whose file %s.index is missing%s"
                         % (index, os.path.basename(path), path, hint))
    data_files = glob.glob(glob.escape(path) + ".data-*")
    if not data_files or not all(os.path.isfile(name) for name in data_files):
        raise UsageError("checkpoint %s is incomplete: its data file %s.data-00000-of-00001 is "
                         "missing" % (path, path))
    return path


def restore(sess, saver, run_dir, variables):
    """Restores the last checkpoint in run_dir into sess, after checking that it holds each
    of `variables` with the same shape; returns its path."""
    path = latest(run_dir)
    try:
        saved_shapes = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise UsageError("cannot read checkpoint %s: %s" % (path, error_reason(e)))
    for variable in variables:
        name, shape = variable.name.split(":")[0], variable.shape.as_list()
        if name not in saved_shapes:
            raise UsageError("checkpoint %s does not fit this model: it has no variable %s "
                             "(was it written by another script?)" % (path, name))
        if saved_shapes[name] != shape:
            raise UsageError("checkpoint %s does not fit this model: %s is %s there, %s here"
                             % (path, name, saved_shapes[name], shape))
    try:
        saver.restore(sess, path)
    except tf.errors.OpError as e:
        raise UsageError("cannot restore checkpoint %s: %s" % (path, error_reason(e)))
    return path


def check_free_space(run_dir, variables):
    """Refuses to start when the disk cannot hold the checkpoints the run will keep."""
    needed = (KEEP + 1) * sum(  # the ones kept, and the one being written
        variable.shape.num_elements() * variable.dtype.base_dtype.size
        for variable in variables) + (1 << 20)  # and the logs
    free = shutil.disk_usage(run_dir).free
    if free < needed:
        raise UsageError("not enough free space for the checkpoints in %s: %.1f MB free, "
                         "%.1f MB needed" % (run_dir, free / 1e6, needed / 1e6))
