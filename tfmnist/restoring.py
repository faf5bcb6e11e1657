"""Reading a run back, for --resume, --eval-only and the classifiers: which run, the flags it
was trained with (its config.json), and its last checkpoint, checked whole and restored only
into the model that wrote it. A new run never loads this module.
"""
import argparse
import glob
import json
import os
import stat

from tfmnist import checkpoints, flags, rundirs
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf


def find_run(args):
    """The run to resume or evaluate: --run-dir, or the newest run in it for a directory of
    numbered runs such as runs/cnn_mnist, or the script's newest run."""
    if args.run_dir:
        if rundirs.holds_run(args.run_dir):
            return args.run_dir
        return newest(args.run_dir, with_checkpoint=args.eval_only) or args.run_dir
    parent = rundirs.script_runs(args.script)
    found = newest(parent, with_checkpoint=args.eval_only)
    if found is None:
        raise UsageError("no run in %s to %s: train one first with `python %s.py`" % (
            parent, "resume" if args.resume else "evaluate", args.script))
    return found


def newest(parent, with_checkpoint=False):
    """The run with the highest number under parent (with_checkpoint: of those that saved a
    checkpoint), or None."""
    runs = [path for _, path in rundirs.numbered_runs(parent)
            if (os.path.exists(os.path.join(path, "checkpoint")) if with_checkpoint
                else rundirs.holds_run(path))]
    return runs[-1] if runs else None


def describe(parent):
    """Where to look instead, for a message about a directory with no run of its own."""
    runs = rundirs.numbered_runs(parent)
    return " (it holds runs %s: name one, such as --run-dir %s)" % (
        ", ".join(str(n) for n, _ in runs[-5:]), runs[-1][1]) if runs else ""


def read_small_file(path, limit=1 << 20):
    """The bytes of a regular file of at most `limit` bytes. A pipe, a device, a directory or
    a larger file is an OSError saying so: never waited on, never read whole."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        _check_regular(fd, limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError("larger than %d bytes" % limit)
    return data


def check_regular_file(path, limit):
    """An OSError unless path is a regular file of at most `limit` bytes (for a reader, such
    as TensorFlow's, that would wait on a pipe or read a file whole)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        _check_regular(fd, limit)
    finally:
        os.close(fd)


def _check_regular(fd, limit):
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        raise OSError("not a regular file")
    if status.st_size > limit:  # a regular file's size is what it holds (a sparse one's too)
        raise OSError("larger than %d bytes" % limit)


def read_config(run_dir):
    """The flags a run was started with; a missing or damaged file is a UsageError."""
    path = os.path.join(run_dir, rundirs.CONFIG_FILE)
    try:
        config = json.loads(read_small_file(path).decode())
    except FileNotFoundError:
        raise UsageError("%s is missing: it holds the flags the run was started with" % path)
    except (OSError, ValueError, RecursionError) as e:
        reason = "nested too deeply" if isinstance(e, RecursionError) else (
            getattr(e, "strerror", None) or e)
        raise UsageError("%s is damaged (%s): it holds the flags the run was started with"
                         % (path, reason))
    if not isinstance(config, dict):
        raise UsageError("%s is damaged (not a JSON object): it holds the flags the run was "
                         "started with" % path)
    return config


_UNSET = object()  # a flag's value before the command line sets it


def adopt_run_flags(parser, argv, args, replicas=1):
    """A run remembers what it was: --resume takes every flag of its schedule, --eval-only
    those of its model, from its config.json where the command line does not give them, and
    one given with another value is refused (replicas: the batches a step trains here)."""
    args.run_dir = find_run(args)
    if not os.path.exists(os.path.join(args.run_dir, "checkpoint")):
        return  # restoring the checkpoint names what is missing
    names = ([name for name in vars(args) if name not in flags.RUN_FLAGS] if args.resume
             else list(parser.model_flags))
    if not names:
        return  # evaluating a model that no flag shapes: the checkpoint is enough
    saved = read_config(args.run_dir)
    missing = [name for name in names + ["replicas"] * args.resume if name not in saved]
    if missing:
        raise UsageError("%s was trained by an older version of %s.py (its %s has no %r): "
                         "train it again" % (args.run_dir, args.script, rundirs.CONFIG_FILE,
                                             missing[0]))
    if args.resume and saved["replicas"] != replicas:
        raise UsageError("--resume here trains %s, but %s was trained with %s, which its "
                         "schedule counts; resume it with the same cluster"
                         % (_batches(replicas), args.run_dir, _batches(saved["replicas"])))
    given = parser.parse_args(argv, argparse.Namespace(**{name: _UNSET for name in names}))
    changed = []
    for name in names:
        value = tuple(saved[name]) if isinstance(saved[name], list) else saved[name]
        if getattr(given, name) is _UNSET and (name != "data_dir" or os.path.isdir(value)):
            setattr(args, name, value)  # (a data directory moved away is named below)
        elif not _same(name, getattr(args, name), saved[name]):
            changed.append("--%s %s (was %s)" % (name.replace("_", "-"), getattr(args, name),
                                                 saved[name]))
    if changed:
        raise UsageError("%s with other %s flags than %s was started with: %s; %s" % (
            "--resume" if args.resume else "--eval-only",
            "training" if args.resume else "model", args.run_dir, ", ".join(changed),
            "resume with the same values" if args.resume else "evaluate with the same values"))


def _same(name, mine, theirs):
    mine = json.loads(json.dumps(mine))  # as config.json holds it: a tuple as a list
    if name == "data_dir" and isinstance(mine, str) and isinstance(theirs, str):
        return os.path.realpath(mine) == os.path.realpath(theirs)
    return mine == theirs


def _batches(replicas):
    return ("--sync-replicas on %d workers (%d batches a step)" % (replicas, replicas)
            if replicas > 1 else "one batch a step")


def latest(run_dir):
    """The prefix of the checkpoint that run_dir's `checkpoint` index names, checked whole;
    else a UsageError naming the file: there is none, the index is damaged, or the
    checkpoint's files are incomplete."""
    index = os.path.join(run_dir, "checkpoint")
    found = checkpoints.saved(run_dir)
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
                         % (run_dir, describe(run_dir)))
    try:
        read_small_file(index)  # not a pipe, a device or a giant: TensorFlow would wait
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


def variables_behind(tensor, candidates):
    """Those of the variables `candidates` whose values `tensor` is computed from: what
    evaluating needs restored (the optimizer's own variables are not among them)."""
    wanted = {variable.op for variable in candidates}
    found, seen, stack = set(), set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in wanted:
            found.add(op)
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    return [variable for variable in candidates if variable.op in found]


def restore_run(sess, run_checkpoints, run_dir, evaluator=None):
    """Restores run_dir's last checkpoint (run_checkpoints: a checkpoints.RunCheckpoints);
    returns its path. All of it to resume; with the evaluator (to evaluate), the variables its
    evaluated tensor is computed from, and the step: not the optimizer's (an eager run, whose
    evaluator has no tensor, saved none)."""
    variables, saver = run_checkpoints.variables, run_checkpoints.saver
    if evaluator is not None:
        variables = (list(variables) if evaluator.evaluated is None
                     else variables_behind(evaluator.evaluated, variables))
        if run_checkpoints.global_step not in variables:
            variables.append(run_checkpoints.global_step)
        saver = checkpoints.make_saver(variables)
    return restore(sess, saver, run_dir, variables)
