"""The flags every training script has, their checks, and what follows from them: the data,
the number of steps, the session's threads.

    parser = flags.make_parser(__file__, "A CNN on MNIST", epochs=4, batch_size=100,
                               learning_rate=1e-3)
    parser.add_argument("--keep-prob", ...)          # the script's own flags
    args = flags.parse_args(parser, argv)            # checked (see kinds())
    mnist = flags.load_data(args)
"""
import argparse
import importlib
import math
import os

import input_data
from tfmnist import rundirs
from tfmnist.command_line import UsageError

MAX_STEPS = 10 ** 9  # more training steps than anyone can wait for: a typo
# Flags that shape the training schedule: --resume refuses to continue under other values.
SCHEDULE_FLAGS = ("batch_size", "epochs", "steps", "learning_rate", "seed", "validation_size",
                  "data_dir")


def number(convert, check, requirement):
    """An argparse type: `convert`, then `check`, or a one-line error saying what is needed."""
    def parse(text):
        try:
            value = convert(text)
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
pixel_shift = number(int, lambda v: 0 <= v <= 4,
                     "a whole number of pixels from 0 to 4 (the margin around MNIST's digits)")
probability = number(float, lambda v: 0 < v <= 1, "a probability in (0, 1]")
turn_degrees = number(float, lambda v: 0 <= v <= 45, "a number of degrees from 0 to 45")


def sizes(text):
    """An argparse type: comma-separated layer sizes, such as 256,128."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 100_000 for v in values):
        raise argparse.ArgumentTypeError("%r is not a list of layer sizes such as 256,128" % text)
    return values


def make_parser(script, description, epochs, batch_size, learning_rate, log_every=100,
                exportable=True):
    """An argparse parser with the flags every script has, given the script's defaults
    (exportable: a classifier, which --export writes as a SavedModel).

    The script adds its own flags to it, then calls `parse_args(parser, argv)`.
    """
    parser = argparse.ArgumentParser(
        prog=os.path.basename(script), description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
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


def parse_args(parser, argv=None, adopt=True):
    """parser.parse_args(argv), with the checks no single flag can make; with --resume or
    --eval-only, the flags the run remembers (adopt: see adopt_run_flags())."""
    args = parser.parse_args(argv)
    if args.resume and args.eval_only:
        parser.error("--resume and --eval-only cannot be used together")
    if args.no_save and (args.resume or args.eval_only or args.run_dir
                         or getattr(args, "export", None)):
        parser.error("--no-save writes no run: it cannot be used with --resume, --eval-only, "
                     "--run-dir or --export")
    if adopt and (args.resume or args.eval_only):
        adopt_run_flags(parser, argv, args)
    return args


def kinds(script):
    """(schedule flags, model flags, older runs) of a training script (cnn_mnist), from its
    module's constants:
    - SCHEDULE_FLAGS: its own flags that shape training, which --resume must not see change
      (the common ones are in SCHEDULE_FLAGS here);
    - MODEL_FLAGS: those that shape the model itself (its inference()'s keyword arguments):
      --eval-only, classify.py and draw.py rebuild the model with the values its run had;
    - OLDER_RUNS: {flag: value} for flags added since the first runs: the value a run whose
      config.json does not name the flag was trained with (--resume continues it so).
    """
    module = importlib.import_module(script)
    model_flags = tuple(getattr(module, "MODEL_FLAGS", ()))
    return (SCHEDULE_FLAGS + tuple(getattr(module, "SCHEDULE_FLAGS", ())) + model_flags,
            model_flags, dict(getattr(module, "OLDER_RUNS", {})))


_UNSET = object()  # a flag's value before the command line sets it


def adopt_run_flags(parser, argv, args):
    """A run remembers what it was: --resume takes the flags of the schedule, --eval-only
    those of the model, from the run's config.json where the command line does not give
    them. (One given with another value is refused when the run is restored.)"""
    from tfmnist.training import find_run_dir  # which imports this module

    run_dir, _ = find_run_dir(args)
    if not os.path.exists(os.path.join(run_dir, rundirs.CONFIG_FILE)):
        return  # restoring names what is missing
    schedule_flags, model_flags, older_runs = kinds(args.script)
    saved = rundirs.read_config(run_dir, older_runs)
    flags = schedule_flags if args.resume else model_flags
    given = parser.parse_args(argv, argparse.Namespace(**{flag: _UNSET for flag in flags}))
    for flag in flags:
        if getattr(given, flag) is _UNSET and flag in saved:
            value = saved[flag]  # JSON holds a tuple of layer sizes as a list
            if flag == "data_dir" and not os.path.isdir(value):
                continue  # moved away: not re-made there; the check names both
            setattr(args, flag, tuple(value) if isinstance(value, list) else value)


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


def check_model_size(flag, parameters):
    """Refuses a model whose parameters cannot be trained in this machine's memory: float32
    weights, their gradients and Adam's two moments. flag: the flag to blame, as given."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): TensorFlow will say
        return
    needed = 4 * 4 * parameters
    if needed > memory:
        raise UsageError("%s needs %.3g parameters, %.0f GB to train with Adam; this machine "
                         "has %.0f GB" % (flag, parameters, needed / 1e9, memory / 1e9))


def dense_parameters(sizes):
    """The weights and biases of fully connected layers of these sizes, input first."""
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))


def total_steps(args, mnist, replicas=1):
    """The number of training steps: --steps, or --epochs passes over the training set
    (replicas: the batches a step trains; in a synchronous cluster, one from each worker)."""
    return args.steps or max(1, math.ceil(args.epochs * mnist.train.num_examples
                                          / (args.batch_size * replicas)))


def session_config(args):
    """Session options for these small models on a CPU: --threads."""
    # Imported here: this module is TensorFlow-free until then, so that tools/benchmark.py
    # answers a bad flag before TensorFlow's seconds of loading.
    from tfmnist.tf1 import tf

    return tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                          inter_op_parallelism_threads=args.threads)
