"""The training harness every script shares: flags, the data, batched evaluation, checkpoints,
progress lines, TensorBoard summaries and the run's figures.

Each script holds its model and its training loop, and the loop says *when* it logs,
validates and saves; the functions here say *how*:

    with tf.Session(config=mnist_common.session_config(args)) as sess, \\
            mnist_common.Run(args, sess, mnist,
                             mnist_common.Classifier(x, y_, logits, correct_count)) as run:
        epoch = mnist.train.epochs_completed
        for step in run.steps():
            batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
            _, loss_value, batch_accuracy = sess.run([train_step, loss, accuracy],
                                                     feed_dict={x: batch_xs, y_: batch_ys})
            run.record(loss_value)
            last_step = step + 1 == run.total_steps
            if (step + 1) % args.log_every == 0 or last_step:
                run.log_progress(step + 1, batch_accuracy)
            if mnist.train.epochs_completed > epoch or last_step:
                epoch = mnist.train.epochs_completed
                run.validate(step + 1)
                run.save(step + 1)
        return run.finish()
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import sys
import threading
import time

import numpy as np

import images
import input_data
import rundir
from tf1 import error_reason, tf

EVAL_BATCH_SIZE = 1000
MISCLASSIFIED_IMAGES = 12  # misclassified test digits shown in TensorBoard after training
MAX_STEPS = 10 ** 9  # more training steps than anyone can wait for: a typo
# Flags that shape the training schedule: --resume refuses to continue under other values.
SCHEDULE_FLAGS = ("batch_size", "epochs", "steps", "learning_rate", "seed", "validation_size")
KEEP_CHECKPOINTS = 3


class UsageError(Exception):
    """A flag, directory or checkpoint the run cannot use; the message says which and why."""


def _quiet_event_writer_thread(args, print_traceback=threading.excepthook):
    """A FileWriter whose disk is full fails in its writing thread, which prints a traceback,
    and then raises the same error at the next flush, which Run turns into one line."""
    if args.thread is None or args.thread.name != "EventLoggerThread":
        print_traceback(args)


threading.excepthook = _quiet_event_writer_thread


# ---------------------------------------------------------------------------------------------
# Flags.

def _number(convert, check, requirement):
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


positive_int = _number(int, lambda v: 0 < v <= MAX_STEPS, "a whole number from 1 to 10^9")
non_negative_int = _number(int, lambda v: 0 <= v <= MAX_STEPS, "a whole number from 0 to 10^9")
seed_int = _number(int, lambda v: 0 <= v < 2 ** 31, "a whole number from 0 to 2^31 - 1")
thread_count = _number(int, lambda v: 0 <= v <= 1024, "a number of threads from 0 to 1024")
positive_float = _number(float, lambda v: 0 < v < 1e9 and math.isfinite(v),
                         "a positive number below 10^9")
non_negative_float = _number(float, lambda v: 0 <= v < 1e9 and math.isfinite(v),
                             "a number from 0 to 10^9")
probability = _number(float, lambda v: 0 < v <= 1, "a probability in (0, 1]")


def sizes(text):
    """An argparse type: comma-separated layer sizes, such as 256,128."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 100_000 for v in values):
        raise argparse.ArgumentTypeError("%r is not a list of layer sizes such as 256,128" % text)
    return values


def make_parser(script, description, epochs, batch_size, learning_rate, log_every=100):
    """An argparse parser with the flags every script has, given the script's defaults.

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
    parser.add_argument("--log-every", type=positive_int, default=log_every,
                        help="steps between progress lines")
    parser.add_argument("--threads", type=thread_count, default=0,
                        help="CPU threads for TensorFlow's ops (0: one per core)")
    parser.set_defaults(script=os.path.splitext(os.path.basename(script))[0])
    return parser


def parse_args(parser, argv=None, schedule_flags=()):
    """parser.parse_args(argv), with the checks no single flag can make.

    schedule_flags: the script's own flags that shape training, which --resume must not see
    change (the common ones are in SCHEDULE_FLAGS).
    """
    args = parser.parse_args(argv)
    if args.resume and args.eval_only:
        parser.error("--resume and --eval-only cannot be used together")
    args.schedule_flags = SCHEDULE_FLAGS + tuple(schedule_flags)
    return args


def load_data(args):
    """The MNIST sets from --data-dir, shuffled by --seed."""
    try:
        mnist = input_data.read_data_sets(args.data_dir, validation_size=args.validation_size,
                                          seed=args.seed)
    except input_data.SplitError as e:  # a validation split larger than the training set
        raise UsageError("--validation-size: %s" % e)
    if args.batch_size > mnist.train.num_examples:
        raise UsageError("--batch-size %d is larger than the training set (%d examples)"
                         % (args.batch_size, mnist.train.num_examples))
    if total_steps(args, mnist) > MAX_STEPS:
        raise UsageError("--epochs %g is %d steps of %d, more than 10^9"
                         % (args.epochs, total_steps(args, mnist), args.batch_size))
    return mnist


def total_steps(args, mnist):
    """The number of training steps: --steps, or --epochs passes over the training set."""
    return args.steps or max(1, math.ceil(args.epochs * mnist.train.num_examples
                                          / args.batch_size))


def session_config(args):
    """Session options for these small models on a CPU."""
    return tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                          inter_op_parallelism_threads=args.threads)


# ---------------------------------------------------------------------------------------------
# The graph pieces every model has, and evaluation.

def evaluation(logits, labels):
    """Returns (correct_count, accuracy) of a batch.

    correct_count is the number of examples whose top logit is the label: summed over the
    batches of a set, it gives the set's exact accuracy (see evaluate).
    """
    correct_count = tf.reduce_sum(tf.cast(tf.nn.in_top_k(logits, labels, 1), tf.int32))
    accuracy = tf.cast(correct_count, tf.float32) / tf.cast(tf.shape(labels)[0], tf.float32)
    return correct_count, accuracy


def evaluate(sess, count_op, logits, x, y_, dataset, batch_size=EVAL_BATCH_SIZE):
    """Returns (the accuracy on every example of `dataset`, the logits of every example),
    evaluated in batches, the last one partial."""
    correct = 0
    all_logits = []
    for start in range(0, dataset.num_examples, batch_size):
        feed_dict = {x: dataset.images[start:start + batch_size],
                     y_: dataset.labels[start:start + batch_size]}
        count, batch_logits = sess.run([count_op, logits], feed_dict=feed_dict)
        correct += count
        all_logits.append(batch_logits)
    return correct / dataset.num_examples, np.concatenate(all_logits)


class Classifier:
    """What Run evaluates of a classifier: the accuracy, from the correct count of each batch.

    Args:
      x, y_: the image and label placeholders (None in eager mode).
      logits: the model's output; in eager mode, a function from images to logits.
      correct_count: the number of correct predictions in a batch (see evaluation()).
    """
    metric = "accuracy"
    outputs = "logits"

    def __init__(self, x, y_, logits, correct_count=None):
        self.x, self.y_, self.logits, self.correct_count = x, y_, logits, correct_count

    def evaluate(self, sess, dataset, batch_size=EVAL_BATCH_SIZE):
        """(accuracy, logits) on every example of `dataset`."""
        if sess is not None:
            return evaluate(sess, self.correct_count, self.logits, self.x, self.y_, dataset)
        logits = np.concatenate([self.logits(dataset.images[start:start + batch_size]).numpy()
                                 for start in range(0, dataset.num_examples, batch_size)])
        return float((logits.argmax(axis=1) == dataset.labels).mean()), logits

    def summaries(self, dataset, logits):
        """TensorBoard images after training: the first misclassified test digits, each
        titled with its prediction and label."""
        predictions = logits.argmax(axis=1)
        wrong = np.flatnonzero(predictions != dataset.labels)[:MISCLASSIFIED_IMAGES]
        return [image_summary("misclassified/test image %05d: predicted %d, labelled %d"
                              % (index, predictions[index], dataset.labels[index]),
                              images.encode_png(dataset.images[index].reshape(28, 28)))
                for index in wrong]


class Reconstruction:
    """What Run evaluates of an autoencoder: the mean squared error per pixel between the
    images and their reconstructions.

    Args:
      x: the image placeholder.
      reconstruction: the model's output, the images as it reproduces them.
    """
    metric = "reconstruction error"
    outputs = "reconstructions"

    def __init__(self, x, reconstruction):
        self.x, self.reconstruction = x, reconstruction

    def evaluate(self, sess, dataset):
        """(mean squared error per pixel, reconstructions) on every example of `dataset`."""
        reconstructions = run_in_batches(sess, self.reconstruction, self.x, dataset.images)
        return float(np.mean(np.square(reconstructions - dataset.images))), reconstructions

    def summaries(self, dataset, outputs):
        return []


def image_summary(tag, png):
    """A TensorBoard image from the bytes of a PNG file of ours (images.py, plots.py)."""
    height, width, channels = images.png_shape(png)
    return tf.Summary.Value(tag=tag, image=tf.Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=png))


def run_in_batches(sess, tensor, x, images_, batch_size=EVAL_BATCH_SIZE):
    """The values of `tensor` for every image, fed to x in batches (the last one partial)."""
    return np.concatenate([sess.run(tensor, feed_dict={x: images_[start:start + batch_size]})
                           for start in range(0, len(images_), batch_size)])


def predict(inference, run_dir, images_, batch_size=EVAL_BATCH_SIZE):
    """The logits a script's model gives `images_`, restored from the last checkpoint in run_dir.

    Args:
      inference: the script's function from images [batch, 784] to logits, such as
        cnn_mnist.inference; it is built afresh in a graph of its own.
      run_dir: the directory of the run that trained it.
      images_: float32 [N, 784] in [0, 1].
    Returns:
      float32 logits [N, 10].
    """
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, images_.shape[1]], name="x")
        logits = inference(x)
        with tf.Session() as sess:
            restore(sess, tf.train.Saver(), run_dir)
            return run_in_batches(sess, logits, x, images_, batch_size)


# ---------------------------------------------------------------------------------------------
# A training run: its directory, initialising or restoring, progress, validation,
# checkpoints, the final test, and the figures.

class Run:
    """The bookkeeping around one script's training loop; use it in a `with` statement.

    Entering it finds the run directory and, to train, locks it (see rundir); then it
    initialises the variables, or restores them with --resume and --eval-only. The script's
    loop calls record() every step, and log_progress(), validate() and save() when it
    chooses. finish() evaluates the test set, prints `test accuracy: ...` (or the model's
    other figure), writes metrics.json and a picture of the training curves, and returns
    the figures. Leaving the `with` closes the TensorBoard writer and releases the lock,
    however the run ends.

    Args:
      args: the parsed flags.
      sess: the session, in the graph that holds the model.
      mnist: the Datasets.
      model: what to evaluate, a Classifier or a Reconstruction.
      learning_rate: a tensor, logged with the progress, if the rate changes.
      variables, global_step: in eager mode (sess None), the model's variables and the step
        counter; graph mode finds them in the graph.
    """

    def __init__(self, args, sess, mnist, model, learning_rate=None, variables=None,
                 global_step=None):
        self.args, self.sess, self.mnist, self.model = args, sess, mnist, model
        self._learning_rate = learning_rate
        self._tag = model.metric.replace(" ", "_")
        self._global_step = (tf.train.get_or_create_global_step() if global_step is None
                             else global_step)
        self._variables = tf.global_variables() if variables is None else variables
        # No .meta files: the scripts rebuild their graphs from code.
        self._saver = tf.train.Saver(self._variables, max_to_keep=KEEP_CHECKPOINTS,
                                     save_relative_paths=True)
        self.total_steps = total_steps(args, mnist)
        self.run_dir = None
        self.checkpoint_path = None
        self.validation_figure = None  # the model's metric on the validation set, last time
        self.losses = []  # every step's training loss, for plotting
        self.progress = []  # {step, loss, images_per_s} at each progress line
        self.validations = []  # {step, metric: value} at each validation
        self._lock = None
        self._writer = None

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Closes the TensorBoard writer and releases the run directory.

        A new run that ends before its first checkpoint, by an error or Ctrl-C, takes its
        files away again: there is nothing in them to resume or evaluate.
        """
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # a full disk: the run is ending with that error already
                pass
            self._writer = None
        if self._lock is not None:
            if not (self.args.resume or self.checkpoint_path):
                rundir.remove_unsaved_run(self.run_dir, self._lock)
            self._lock.close()
            self._lock = None

    def _start(self):
        args, sess = self.args, self.sess
        training = not args.eval_only
        self.run_dir, created = find_run_dir(args)
        if training:
            self._lock = rundir.claim(self.run_dir, fresh=not args.resume, created=created)
        if args.eval_only or args.resume:
            self.checkpoint_path = restore(sess, self._saver, self.run_dir, args,
                                           self._variables)
        else:
            rundir.write_json(self.run_dir, rundir.CONFIG_FILE, config_of(args))
            if sess is not None:  # eager variables hold their values from the start
                sess.run(tf.global_variables_initializer())
        self.start_step = int(self._value(self._global_step))
        if args.eval_only:
            self.total_steps = self.start_step
        if self.start_step >= self.total_steps:
            return
        _check_free_space(self.run_dir, self._variables)
        # Resume where the data left off, so the batches match those of an unbroken run.
        self.mnist.train.skip(self.start_step * args.batch_size)
        with tf.Graph().as_default():  # a FileWriter refuses to be made in eager mode
            self._writer = tf.summary.FileWriter(
                self.run_dir, None if args.resume or sess is None else sess.graph)
        if args.resume:
            # Tells TensorBoard to drop what the interrupted run logged after this step.
            self._writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START),
                                         self.start_step)
        print("training %d steps of %d (%.1f epochs) from step %d; checkpoints and logs in %s"
              % (self.total_steps - self.start_step, args.batch_size,
                 self.total_steps * args.batch_size / self.mnist.train.num_examples,
                 self.start_step, self.run_dir), flush=True)

    def steps(self):
        """The global steps still to train, from the restored one (0 in a new run)."""
        self._train_seconds = 0.0
        self._interval_start = time.perf_counter()
        self._interval_first_step = self.start_step  # of the steps the next line sums up
        return range(self.start_step, self.total_steps)

    def record(self, loss_value):
        """Keeps a step's loss, for the progress lines and the curves; stops at a NaN."""
        if math.isnan(loss_value):
            raise UsageError("the loss became NaN at step %d: lower --learning-rate"
                             % (self.start_step + len(self.losses) + 1))
        self.losses.append(float(loss_value))

    def log_progress(self, step, batch_accuracy=None):
        """Prints and logs the mean loss of the steps since the last line, and the speed."""
        seconds = time.perf_counter() - self._interval_start
        self._train_seconds += seconds
        interval = self.losses[self._interval_first_step - step:]
        mean_loss = sum(interval) / len(interval)
        scalars = {"loss": mean_loss}
        line = "step %*d/%d  epoch %5.2f  loss %.4f" % (
            len(str(self.total_steps)), step, self.total_steps,
            step * self.args.batch_size / self.mnist.train.num_examples, mean_loss)
        if batch_accuracy is not None:
            scalars["accuracy/train_batch"] = batch_accuracy
            line += "  batch accuracy %.3f" % batch_accuracy
        if self._learning_rate is not None:
            scalars["learning_rate"] = self._value(self._learning_rate)
            line += "  lr %.2e" % scalars["learning_rate"]
        images_per_s = len(interval) * self.args.batch_size / seconds
        print("%s  %6.0f images/s" % (line, images_per_s), flush=True)
        self.progress.append({"step": step, "loss": mean_loss, "images_per_s": images_per_s})
        self._write_scalars(scalars, step)
        self._interval_first_step = step
        self._interval_start = time.perf_counter()

    def _value(self, tensor):
        """A tensor's value now: run in the session, or read in eager mode."""
        if self.sess is not None:
            return self.sess.run(tensor)
        return (tensor() if callable(tensor) else tensor).numpy()

    def validate(self, step):
        """Evaluates the validation set (if there is one), prints and logs the figure."""
        pause = time.perf_counter()
        if self.mnist.validation.num_examples:
            self.validation_figure, _ = self.evaluate(self.mnist.validation)
            print("validation %s %.4f" % (self.model.metric, self.validation_figure), flush=True)
            self.validations.append({"step": step, self.model.metric: self.validation_figure})
            self._write_scalars({"%s/validation" % self._tag: self.validation_figure}, step)
        self._interval_start += time.perf_counter() - pause  # not training time

    def evaluate(self, dataset):
        """(the model's figure, its outputs) on every example of `dataset`."""
        return self.model.evaluate(self.sess, dataset)

    def save(self, step):
        """Writes a checkpoint of the current step; a crash mid-write leaves the last one whole.

        The Saver writes the data, then replaces the `checkpoint` index in one atomic rename:
        an interrupted save leaves the index naming the previous, complete checkpoint.
        """
        pause = time.perf_counter()
        try:
            self.checkpoint_path = self._saver.save(
                self.sess, os.path.join(self.run_dir, "model.ckpt"), global_step=step,
                write_meta_graph=False)
        except (tf.errors.OpError, OSError) as e:
            rundir.remove_temporary_files(self.run_dir)
            raise UsageError("cannot save a checkpoint in %s: %s%s" % (
                self.run_dir, error_reason(e), "; the last one saved is still complete"
                if self.checkpoint_path else ""))
        self._interval_start += time.perf_counter() - pause

    def finish(self):
        """Evaluates the test set; prints the figures, writes them to metrics.json and returns
        them."""
        trained = len(self.losses)
        if trained:
            images_per_s = trained * self.args.batch_size / max(self._train_seconds, 1e-9)
            print("trained %d steps in %.1f s (%.0f images/s); checkpoint %s"
                  % (trained, self._train_seconds, images_per_s, self.checkpoint_path))
        else:
            images_per_s = None
            print("evaluating checkpoint %s" % self.checkpoint_path)
        test_figure, test_outputs = self.evaluate(self.mnist.test)
        figures = {"test_" + self._tag: test_figure,
                   "validation_" + self._tag: self.validation_figure,
                   "global_step": int(self.start_step) + trained,
                   "train_seconds": self._train_seconds if trained else 0.0,
                   "train_images_per_s": images_per_s, "checkpoint": self.checkpoint_path,
                   "run_dir": self.run_dir, "progress": self.progress,
                   "validations": self.validations}
        if self._writer is not None:
            values = self.model.summaries(self.mnist.test, test_outputs)
            if values:
                self._writer.add_summary(tf.Summary(value=values), figures["global_step"])
            self._flush()
            rundir.write_json(self.run_dir, rundir.METRICS_FILE, figures)
            import plots  # matplotlib takes a second to load: only runs that draw pay it

            self.add_picture("training_curves", plots.training_curves(
                self.losses, self.validations, self.model.metric, "%s, run %s: steps %d to %d"
                % (self.args.script, os.path.basename(self.run_dir), self.start_step,
                   self.start_step + trained), self.start_step))
        print("test %s: %.4f" % (self.model.metric, test_figure), flush=True)
        return dict(figures, losses=self.losses, **{"test_" + self.model.outputs: test_outputs})

    def add_picture(self, name, png):
        """Writes a picture as NAME.png in the run directory and adds it to TensorBoard.

        Only a run that trains writes: --eval-only leaves the run directory as it is.
        """
        if self._writer is None:
            return
        path = os.path.join(self.run_dir, name + ".png")
        try:
            rundir.write_atomically(path, png)
        except OSError as e:
            raise UsageError("cannot write %s: %s" % (path, e.strerror or e))
        step = self.start_step + len(self.losses)
        self._writer.add_summary(tf.Summary(value=[image_summary(name, png)]), step)
        self._flush()

    def _write_scalars(self, scalars, step):
        summary = tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=float(value))
                                    for tag, value in scalars.items()])
        self._writer.add_summary(summary, step)
        self._flush()

    def _flush(self):
        """Writes the TensorBoard events out now; a full disk is a UsageError."""
        try:
            self._writer.flush()
        except Exception as e:  # raised from the writing thread: IndexError, OSError, ...
            raise UsageError("cannot write the TensorBoard log in %s: %s"
                             % (self.run_dir, error_reason(e)))


def find_run_dir(args):
    """(the run directory the flags ask for, whether it was made now): --run-dir, a new
    numbered one to start a run, or the highest numbered one to resume or evaluate."""
    if args.run_dir:
        return args.run_dir, False
    parent = rundir.script_runs(args.script)
    if not (args.resume or args.eval_only):
        return rundir.new_numbered(parent), True
    newest = rundir.newest(parent, with_checkpoint=args.eval_only)
    if newest is None:
        raise UsageError("no run in %s to %s: train one first with `python %s.py`" % (
            parent, "resume" if args.resume else "evaluate", args.script))
    return newest, False


def config_of(args):
    """The flags worth keeping beside a run's checkpoints: all but bookkeeping."""
    return {name: value for name, value in vars(args).items()
            if name not in ("schedule_flags", "resume", "eval_only")}


def _check_free_space(run_dir, variables):
    """Refuses to start when the disk cannot hold the checkpoints the run will keep."""
    needed = (KEEP_CHECKPOINTS + 1) * sum(  # the ones kept, and the one being written
        variable.shape.num_elements() * variable.dtype.base_dtype.size
        for variable in variables) + (1 << 20)  # and the logs
    free = shutil.disk_usage(run_dir).free
    if free < needed:
        raise UsageError("not enough free space for the checkpoints in %s: %.1f MB free, "
                         "%.1f MB needed" % (run_dir, free / 1e6, needed / 1e6))


# ---------------------------------------------------------------------------------------------
# Checkpoints.

def _saved_checkpoints(run_dir):
    """The checkpoint files in run_dir, by step: [(step, prefix)]."""
    found = []
    for index_file in glob.glob(os.path.join(glob.escape(run_dir), "model.ckpt-*.index")):
        match = re.search(r"model\.ckpt-(\d+)\.index$", index_file)
        if match:
            found.append((int(match.group(1)), index_file[:-len(".index")]))
    return sorted(found)


def latest_checkpoint(run_dir):
    """The prefix of the checkpoint that run_dir's `checkpoint` index names, checked whole.

    Raises UsageError naming the file when there is none, the index is damaged, or the
    checkpoint's files are incomplete.
    """
    index = os.path.join(run_dir, "checkpoint")
    saved = _saved_checkpoints(run_dir)
    hint = "; the newest checkpoint there is %s" % saved[-1][1] if saved else ""
    if not os.path.isdir(run_dir):
        raise UsageError("no run in %s: the directory does not exist" % run_dir)
    if not os.path.exists(index):
        if saved:
            raise UsageError("%s is missing: it names the checkpoint to restore%s" % (index, hint))
        if os.path.exists(os.path.join(run_dir, rundir.CONFIG_FILE)):
            raise UsageError("no checkpoint in %s: the run there stopped before its first "
                             "checkpoint (one is saved at the end of every epoch); start a new "
                             "run" % run_dir)
        raise UsageError("no checkpoint in %s%s: train first (without --resume or "
                         "--eval-only), or point --run-dir at a run that has one"
                         % (run_dir, rundir.describe(run_dir)))
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


def restore(sess, saver, run_dir, args=None, variables=None):
    """Restores the last checkpoint in run_dir into sess; returns its path.

    Raises UsageError, naming the directory or checkpoint, when there is none, when it does
    not fit the model in sess.graph (or `variables`, in eager mode), or when `args` asks to
    --resume with another schedule.
    """
    path = latest_checkpoint(run_dir)
    try:
        saved_shapes = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise UsageError("cannot read checkpoint %s: %s" % (path, error_reason(e)))
    for variable in tf.global_variables() if variables is None else variables:
        name = variable.name.split(":")[0]
        shape = variable.shape.as_list()
        if name not in saved_shapes:
            raise UsageError("checkpoint %s does not fit this model: it has no variable %s "
                             "(was it written by another script?)" % (path, name))
        if saved_shapes[name] != shape:
            raise UsageError("checkpoint %s does not fit this model: %s is %s there, %s here"
                             % (path, name, saved_shapes[name], shape))
    if args is not None and args.resume:
        saved = rundir.read_config(run_dir)
        # Compared as config.json holds them: a tuple of layer sizes comes back as a list.
        changed = [flag for flag in args.schedule_flags
                   if saved.get(flag) != json.loads(json.dumps(getattr(args, flag)))]
        if changed:
            raise UsageError("--resume with other training flags than %s was started with: %s; "
                             "resume with the same values" % (run_dir, ", ".join(
                                 "--%s %s (was %s)" % (flag.replace("_", "-"),
                                                       getattr(args, flag), saved.get(flag))
                                 for flag in changed)))
    try:
        saver.restore(sess, path)
    except tf.errors.OpError as e:
        raise UsageError("cannot restore checkpoint %s: %s" % (path, error_reason(e)))
    return path


# ---------------------------------------------------------------------------------------------
# The command line.

def run_main(main, script, trains=True):
    """Runs main() as a command: a bad flag, file or checkpoint gives one line and exit 2.

    trains: the command trains, so Ctrl-C says what happens to its checkpoints.
    """
    prog = os.path.basename(script)
    try:
        main()
    except (input_data.DataError, UsageError, rundir.RunDirError) as e:
        print("%s: error: %s" % (prog, e), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\n%s: interrupted%s" % (prog, "; the last checkpoint saved is still complete "
                                      "(--resume continues from it)" if trains else ""),
              file=sys.stderr)
        sys.exit(130)
