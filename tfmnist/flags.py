"""The flags every training script has, their checks, and what follows from them: the data,
the number of steps, the session's threads; and the flags a run remembers (config.json).

    parser = flags.make_parser(__file__, __doc__, epochs=2, batch_size=50, learning_rate=1e-3)
    parser.add_argument("--keep-prob", ...)          # the script's own flags
    args = flags.parse_args(parser, argv)            # checked; --resume takes the run's own
    mnist = flags.load_data(args)
"""
import argparse
import math
import os
import re

import input_data
from tfmnist.command_line import UsageError

MAX_STEPS = 10 ** 9  # more training steps than anyone can wait for: a typo
# Flags that say where and how a run is carried out, not what it trains: --resume may change
# them (a cluster's among them), and config.json does not keep the first four.
RUN_FLAGS = ("resume", "eval_only", "no_save", "export", "run_dir", "log_every", "threads",
             "script", "ps_hosts", "worker_hosts", "job_name", "task_index", "sync_replicas",
             "task_timeout", "trusted_network", "model")


# Plain numbers only: int() and float() also take '٣', '1_000', ' 7', '010' and 'nan'.
PLAIN_NUMBER = r"(0|[1-9][0-9]*)?(\.[0-9]*)?([eE][-+]?[0-9]+)?"


def number(convert, check, requirement):
    """An argparse type: a plain number, `convert`ed, `check`ed, or a one-line error."""
    def parse(text):
        try:
            value = convert(text) if re.fullmatch(PLAIN_NUMBER, text) else None
        except (ValueError, OverflowError):
            value = None
        if value is None or not check(value):
            raise argparse.ArgumentTypeError("%r is not %s" % (text, requirement))
        return value
    return parse


positive_int = number(int, lambda v: 0 < v <= MAX_STEPS, "a whole number from 1 to 10^9")
non_negative_int = number(int, lambda v: 0 <= v <= MAX_STEPS, "a whole number from 0 to 10^9")
seed_int = number(int, lambda v: 0 <= v < 2 ** 31, "a whole number from 0 to 2^31 - 1")
thread_count = number(int, lambda v: 0 <= v <= 1024, "a number of threads from 0 to 1024")
positive_float = number(float, lambda v: 0 < v < 1e9 and math.isfinite(v),
                        "a positive number below 10^9")
non_negative_float = number(float, lambda v: 0 <= v < 1e9 and math.isfinite(v),
                            "a number from 0 to 10^9")
probability = number(float, lambda v: 0 < v <= 1, "a probability in (0, 1]")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each default printed once: none where the help says it, or where there is none."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def description(doc):
    """A program's --help description: its docstring's first paragraph, whole."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def make_parser(script, doc, epochs, batch_size, learning_rate, log_every=100,
                exportable=True, model_flags=()):
    """An argparse parser with the flags every script has, given the script's defaults
    (exportable: a classifier, which --export writes as a SavedModel; model_flags: the
    script's flags that shape inference(), which --eval-only and the loader take from the
    run). The script adds its own flags, then calls parse_args(parser, argv)."""
    parser = argparse.ArgumentParser(prog=os.path.basename(script), description=description(doc),
                                     formatter_class=HelpFormatter)
    parser.model_flags = tuple(model_flags)
    parser.add_argument("--data-dir", default=input_data.DEFAULT_DATA_DIR,
                        help="directory of the MNIST IDX files (.gz or raw); missing files are "
                             "copied from the bundled data/ or downloaded into it")
    parser.add_argument("--epochs", type=positive_float, default=epochs,
                        help="passes over the training set")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="train this many mini-batches instead of --epochs")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size,
                        help="training examples per step")
    parser.add_argument("--learning-rate", type=positive_float, default=learning_rate,
                        help="initial learning rate")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help="seeds initialisation, dropout and shuffling: same seed, same result")
    parser.add_argument("--validation-size", type=non_negative_int, default=5000,
                        help="training examples held out to validate on after each epoch")
    parser.add_argument("--run-dir", default=None,
                        help="the directory of this run's checkpoints, logs and figures: new or "
                             "empty for a new run (default: the next number in %s/; with "
                             "--resume or --eval-only, the highest)"
                             % os.path.join("runs", os.path.splitext(os.path.basename(script))[0]))
    parser.add_argument("--resume", action="store_true",
                        help="continue training from the last checkpoint of the run")
    parser.add_argument("--eval-only", action="store_true",
                        help="restore the last checkpoint of the run and evaluate it on the "
                             "test set, without training")
    parser.add_argument("--no-save", action="store_true",
                        help="train and evaluate without a run directory, writing nothing: "
                             "no checkpoints, logs, pictures or metrics.json")
    if exportable:
        parser.add_argument("--export", metavar="DIR", default=None,
                            help="after training (or --eval-only), write the model as a "
                                 "SavedModel in DIR, new or empty, for serving")
    parser.add_argument("--log-every", type=positive_int, default=log_every,
                        help="steps between progress lines")
    parser.add_argument("--threads", type=thread_count, default=0,
                        help="CPU threads for TensorFlow's ops (0: one per core)")
    parser.set_defaults(script=os.path.splitext(os.path.basename(script))[0])
    return parser


def parse_args(parser, argv=None, adopt=True, replicas=1):
    """parser.parse_args(argv), with the checks no single flag can make; with --resume or
    --eval-only (and adopt), the run's own flags (see restoring.adopt_run_flags)."""
    args = parser.parse_args(argv)
    if args.resume and args.eval_only:
        parser.error("--resume and --eval-only cannot be used together")
    if args.no_save and (args.resume or args.eval_only or args.run_dir
                         or getattr(args, "export", None)):
        parser.error("--no-save writes no run: it cannot be used with --resume, --eval-only, "
                     "--run-dir or --export")
    if adopt and (args.resume or args.eval_only):
        from tfmnist import restoring  # a run read back: only then

        restoring.adopt_run_flags(parser, argv, args, replicas)
    return args


def config_of(args, replicas=1):
    """What a run keeps in config.json: its flags but those that say how to start it, and
    the batches a step trains (with --sync-replicas, one from each worker)."""
    config = {name: value for name, value in vars(args).items()
              if name not in ("resume", "eval_only", "no_save")}
    return dict(config, replicas=replicas)


def load_data(args, replicas=1):
    """The MNIST sets from --data-dir, shuffled by --seed (replicas: see total_steps)."""
    try:
        mnist = input_data.read_data_sets(args.data_dir, validation_size=args.validation_size,
                                          seed=args.seed)
    except input_data.SplitError as e:  # a validation split larger than the training set
        raise UsageError("--validation-size: %s" % e)
    if mnist.train.num_examples == 0:
        raise UsageError("--validation-size %d leaves no training examples: the training set "
                         "in %s has %d" % (args.validation_size, args.data_dir,
                                           mnist.validation.num_examples))
    if args.batch_size > mnist.train.num_examples:
        raise UsageError("--batch-size %d is larger than the training set (%d examples)"
                         % (args.batch_size, mnist.train.num_examples))
    if total_steps(args, mnist, replicas) > MAX_STEPS:
        raise UsageError("--epochs %g is %d steps of %d, more than 10^9"
                         % (args.epochs, total_steps(args, mnist, replicas), args.batch_size))
    return mnist


def check_model_size(flag, sizes):
    """Refuses fully connected layers of these sizes (input first) whose parameters cannot
    be trained in this machine's memory: float32 weights, their gradients and Adam's two
    moments. flag: the flag to blame, as given."""
    parameters = sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if 4 * 4 * parameters > memory:
        raise UsageError("%s needs %.3g parameters, %.0f GB to train with Adam; this machine "
                         "has %.0f GB" % (flag, parameters, 16 * parameters / 1e9, memory / 1e9))


def total_steps(args, mnist, replicas=1):
    """The number of training steps: --steps, or --epochs passes over the training set
    (replicas: the batches a step trains; in a synchronous cluster, one from each worker)."""
    return args.steps or max(1, math.ceil(args.epochs * mnist.train.num_examples
                                          / (args.batch_size * replicas)))


def session_config(args):
    """Session options for these small models on a CPU: --threads."""
    from tfmnist.tf1 import tf  # here: tools/benchmark.py answers a bad flag before it loads

    return tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                          inter_op_parallelism_threads=args.threads)
