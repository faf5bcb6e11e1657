"""Checkpoints: the last few saved whole (restoring.py finds the last one and restores it
only into the model that wrote it).

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
    the global step), saved whole (restoring.restore_run restores them)."""

    def __init__(self, variables=None, global_step=None):
        self.global_step = (tf.train.get_or_create_global_step() if global_step is None
                            else global_step)
        self.variables = tf.global_variables() if variables is None else variables
        self.saver = make_saver(self.variables)

    def step(self, sess):
        return int(sess.run(self.global_step))

    def save(self, sess, run_dir, step, had_one):
        """Writes the checkpoint of `step`; returns its path. Older ones beyond the newest
        KEEP, those of earlier processes included, are removed. A failure is a UsageError,
        and leaves the last checkpoint whole (had_one: there is one)."""
        try:
            path = self.saver.save(sess, os.path.join(run_dir, PREFIX), global_step=step,
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

    def check_free_space(self, run_dir):
        """Refuses to start when the disk cannot hold the checkpoints the run will keep."""
        needed = (KEEP + 1) * sum(  # the ones kept, and the one being written
            variable.shape.num_elements() * variable.dtype.base_dtype.size
            for variable in self.variables) + (1 << 20)  # and the logs
        free = shutil.disk_usage(run_dir).free
        if free < needed:
            raise UsageError("not enough free space for the checkpoints in %s: %.1f MB free, "
                             "%.1f MB needed" % (run_dir, free / 1e6, needed / 1e6))


def make_saver(variables=None):
    """A Saver of `variables` (default: all of the graph's) that keeps the newest KEEP. No
    .meta files: the scripts rebuild their graphs from code. Relative paths in the index, so
    that a run directory can be moved."""
    return tf.train.Saver(variables, max_to_keep=KEEP, save_relative_paths=True)


def saved(run_dir):
    """The checkpoint files in run_dir, by step: [(step, prefix)]."""
    found = []
    for index_file in glob.glob(os.path.join(glob.escape(run_dir), PREFIX + "-*.index")):
        match = re.search(r"model\.ckpt-(\d+)\.index$", index_file)
        if match:
            found.append((int(match.group(1)), index_file[:-len(".index")]))
    return sorted(found)
