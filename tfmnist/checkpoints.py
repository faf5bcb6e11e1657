"""Checkpoints: saving the last few whole, finding the last one, and restoring it only into the
model that wrote it.

TensorFlow's Saver writes a checkpoint's data, then replaces the `checkpoint` index in one
atomic rename: a save interrupted at any moment leaves the index naming the previous,
complete checkpoint. What it leaves half-written is removed (rundirs.remove_temporary_files).
"""
import glob
import json
import os
import re
import shutil

from tfmnist import flags, rundirs
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf

KEEP = 3  # checkpoints kept in a run directory: the newest ones
PREFIX = "model.ckpt"
# Flags whose values are compared as what they mean, not as they were written.
_SAME_WHEN = {"data_dir": os.path.realpath}


class RunCheckpoints:
    """A training run's checkpoints: its variables (default: the graph's) and step counter
    (default: the global step), saved and restored.

    Evaluating restores only the variables the evaluator's output is computed from, and the
    step: not the optimizer's (a run trained in eager mode saved none).
    """

    def __init__(self, variables=None, global_step=None):
        self.global_step = (tf.train.get_or_create_global_step() if global_step is None
                            else global_step)
        self.variables = tf.global_variables() if variables is None else variables
        self._saver = make_saver(self.variables)

    def step(self, sess):
        return int(sess.run(self.global_step))

    def restore(self, sess, run_dir, args, evaluator, replicas=1):
        """Restores the last checkpoint in run_dir; returns its path. The checkpoint is
        checked first, then the flags: --resume needs the run's schedule (and as many
        batches a step: replicas), --eval-only its model flags (flags.kinds())."""
        latest(run_dir)
        schedule_flags, model_flags, older_runs = flags.kinds(args.script)
        if args.resume:
            check_flags(run_dir, args, schedule_flags, "--resume", "training",
                        "resume with the same values", older_runs)
            check_replicas(run_dir, replicas)
            variables, saver = self.variables, self._saver
        else:
            if model_flags:
                check_flags(run_dir, args, model_flags, "--eval-only", "model",
                            "evaluate with the same values", older_runs)
            variables = evaluator.variables(self.variables)
            if not any(variable is self.global_step for variable in variables):
                variables.append(self.global_step)
            saver = make_saver(variables)
        return restore(sess, saver, run_dir, variables)

    def save(self, sess, run_dir, step, had_one):
        """Writes the checkpoint of `step` (see save()); had_one: one is there already."""
        return save(sess, self._saver, run_dir, step, had_one)

    def check_free_space(self, run_dir):
        check_free_space(run_dir, self.variables)


def make_saver(variables=None):
    """A Saver of `variables` (default: all of the graph's) that keeps the newest KEEP.

    No .meta files: the scripts rebuild their graphs from code. Relative paths in the index,
    so that a run directory can be moved.
    """
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
            except OSError:
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
    """The prefix of the checkpoint that run_dir's `checkpoint` index names, checked whole.

    Raises UsageError naming the file when there is none, the index is damaged, or the
    checkpoint's files are incomplete.
    """
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
        state = tf.train.get_checkpoint_state(run_dir)
    except (ValueError, tf.errors.OpError):
        state = None
    if state is None:
        raise UsageError("%s is damaged: it names no checkpoint%s" % (index, hint))
    path = state.model_checkpoint_path
    if not os.path.exists(path + ".index"):
        raise UsageError("%s names %s, whose file %s.index is missing%s"
                         % (index, os.path.basename(path), path, hint))
    if not glob.glob(glob.escape(path) + ".data-*"):
        raise UsageError("checkpoint %s is incomplete: its data file %s.data-00000-of-00001 is "
                         "missing" % (path, path))
    return path


def check_fits(path, variables):
    """Raises UsageError, naming the checkpoint, unless it holds each of `variables` with
    the same shape."""
    try:
        saved_shapes = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise UsageError("cannot read checkpoint %s: %s" % (path, error_reason(e)))
    for variable in variables:
        name = variable.name.split(":")[0]
        shape = variable.shape.as_list()
        if name not in saved_shapes:
            raise UsageError("checkpoint %s does not fit this model: it has no variable %s "
                             "(was it written by another script?)" % (path, name))
        if saved_shapes[name] != shape:
            raise UsageError("checkpoint %s does not fit this model: %s is %s there, %s here"
                             % (path, name, saved_shapes[name], shape))


def check_flags(run_dir, args, names, action, kind, remedy, older_runs=None):
    """Raises UsageError unless the flags `names` have the values the run in run_dir was
    started with (its config.json). The message: "ACTION with other KIND flags than RUN_DIR
    was started with: --flag value (was value), ...; REMEDY"."""
    saved_flags = rundirs.read_config(run_dir, older_runs)

    def same(flag):
        # Compared as config.json holds them: a tuple of layer sizes comes back as a list.
        mine = json.loads(json.dumps(getattr(args, flag)))
        theirs = saved_flags.get(flag)
        if flag in _SAME_WHEN and isinstance(mine, str) and isinstance(theirs, str):
            return _SAME_WHEN[flag](mine) == _SAME_WHEN[flag](theirs)
        return mine == theirs

    changed = [flag for flag in names if not same(flag)]
    if changed:
        raise UsageError("%s with other %s flags than %s was started with: %s; %s" % (
            action, kind, run_dir, ", ".join(
                "--%s %s (was %s)" % (flag.replace("_", "-"), getattr(args, flag),
                                      saved_flags.get(flag)) for flag in changed), remedy))


def check_replicas(run_dir, here):
    """Raises UsageError unless a resumed run trains as many batches a step (here) as the
    run in run_dir did: with --sync-replicas, one from each worker, and its schedule (the
    steps of an epoch, the learning rate's decay) counts them."""
    def batches(replicas):
        return ("--sync-replicas on %d workers (%d batches a step)" % (replicas, replicas)
                if replicas > 1 else "one batch a step")

    trained = rundirs.read_config(run_dir, {"replicas": 1})["replicas"]
    if trained != here:
        raise UsageError("--resume here trains %s, but %s was trained with %s, which its "
                         "schedule counts; resume it with the same cluster"
                         % (batches(here), run_dir, batches(trained)))


def restore(sess, saver, run_dir, variables):
    """Restores the last checkpoint in run_dir into sess, after checking that it fits
    `variables`; returns its path."""
    path = latest(run_dir)
    check_fits(path, variables)
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
