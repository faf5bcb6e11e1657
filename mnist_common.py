"""What every training script shares: flags, the session, batched evaluation, checkpoints,
progress lines and TensorBoard summaries.

Each model script holds its model and its training loop; the plumbing lives here, once:

    with tf.Session(config=mnist_common.session_config(args)) as sess:
        run = mnist_common.Run(args, sess, mnist, x, y_, logits, correct_count)
        for step in run.steps():
            batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
            _, loss_value, batch_accuracy = sess.run([train_step, loss, accuracy],
                                                     feed_dict={x: batch_xs, y_: batch_ys})
            run.step_done(loss_value, batch_accuracy)
        return run.finish()
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

import input_data

# Both must be set before TensorFlow's import. The first keeps its C++ log lines at WARNING
# and above. The second asks for oneDNN's fused CPU kernels, which TensorFlow turns on only
# for some processors: on a 2-core AMD EPYC they train the CNN 1.5 times faster than Eigen's.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def _import_tensorflow_quietly():
    """Imports TensorFlow without its start-up notices on the terminal.

    TensorFlow 2.21 prints "oneDNN custom operations are on" twice while it loads, before
    its logging settings apply, so no setting hides them: stderr goes to a temporary file for
    the import, and is replayed if the import fails.
    """
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow.compat.v1 as tf
        except BaseException:
            os.dup2(saved_stderr, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
    return tf


tf = _import_tensorflow_quietly()
tf.get_logger().setLevel("ERROR")  # TF1 symbols warn of their deprecation at every use
tf.disable_v2_behavior()

REPO_DIR = os.path.dirname(os.path.abspath(__file__))
RUNS_DIR = os.path.join(REPO_DIR, "runs")  # every run writes under here (git ignores it)
EVAL_BATCH_SIZE = 1000
MISCLASSIFIED_IMAGES = 12  # misclassified test digits shown in TensorBoard after training
CONFIG_FILE = "config.json"  # the flags of the run that wrote the checkpoints beside it
# Flags that shape the training schedule: --resume refuses to continue under other values.
SCHEDULE_FLAGS = ("batch_size", "epochs", "steps", "learning_rate", "seed", "validation_size")


class UsageError(Exception):
    """A flag, directory or checkpoint the run cannot use; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# Flags.

def _number(convert, check, requirement):
    """An argparse type: `convert`, then `check`, or a one-line error saying what is needed."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not check(value):
            raise argparse.ArgumentTypeError("%r is not %s" % (text, requirement))
        return value
    return parse


positive_int = _number(int, lambda v: v > 0, "a positive whole number")
non_negative_int = _number(int, lambda v: v >= 0, "a whole number, 0 or more")
positive_float = _number(float, lambda v: v > 0 and math.isfinite(v), "a positive number")
probability = _number(float, lambda v: 0 < v <= 1, "a probability in (0, 1]")


def make_parser(script, description, epochs, batch_size, learning_rate, log_every=100):
    """An argparse parser with the flags every script has, given the script's defaults.

    The script adds its own flags to it, then calls `parse_args(parser, argv)`.
    """
    name = os.path.splitext(os.path.basename(script))[0]
    parser = argparse.ArgumentParser(
        prog=os.path.basename(script), description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", default=input_data.DEFAULT_DATA_DIR,
                        help="directory of the MNIST IDX files (.gz or raw); missing files are "
                             "downloaded into it")
    parser.add_argument("--epochs", type=positive_float, default=epochs,
                        help="passes over the training set")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="train this many mini-batches instead of --epochs")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size,
                        help="training examples per step")
    parser.add_argument("--learning-rate", type=positive_float, default=learning_rate,
                        help="initial learning rate")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds initialisation, dropout and shuffling: same seed, same result")
    parser.add_argument("--validation-size", type=non_negative_int, default=5000,
                        help="training examples held out to validate on after each epoch")
    parser.add_argument("--run-dir", default=os.path.join(RUNS_DIR, name),
                        help="where checkpoints and TensorBoard logs are written")
    parser.add_argument("--resume", action="store_true",
                        help="continue training from the last checkpoint in --run-dir")
    parser.add_argument("--eval-only", action="store_true",
                        help="restore the last checkpoint in --run-dir and evaluate it on the "
                             "test set, without training")
    parser.add_argument("--log-every", type=positive_int, default=log_every,
                        help="steps between progress lines")
    parser.add_argument("--threads", type=non_negative_int, default=0,
                        help="CPU threads for TensorFlow's ops (0: one per core)")
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
    except ValueError as e:  # a validation split larger than the training set
        raise UsageError("--validation-size: %s" % e)
    if args.batch_size > mnist.train.num_examples:
        raise UsageError("--batch-size %d is larger than the training set (%d examples)"
                         % (args.batch_size, mnist.train.num_examples))
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
# The graph pieces every model has.

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


def predict(inference, run_dir, images, batch_size=EVAL_BATCH_SIZE):
    """The logits a script's model gives `images`, restored from the last checkpoint in run_dir.

    Args:
      inference: the script's function from images [batch, 784] to logits, such as
        cnn_mnist.inference; it is built afresh in a graph of its own.
      run_dir: the --run-dir of the run that trained it.
      images: float32 [N, 784] in [0, 1].
    Returns:
      float32 logits [N, 10].
    """
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, images.shape[1]], name="x")
        logits = inference(x)
        with tf.Session() as sess:
            restore(sess, tf.train.Saver(), run_dir)
            return np.concatenate([
                sess.run(logits, feed_dict={x: images[start:start + batch_size]})
                for start in range(0, len(images), batch_size)])


# ---------------------------------------------------------------------------------------------
# A training run: initialise or restore, progress, validation, checkpoints, final test.

class Run:
    """The bookkeeping around one script's training loop.

    Creating it initialises the variables, or restores them with --resume and --eval-only.
    `steps()` gives the global steps still to train; after each, `step_done` prints progress
    every --log-every steps and, at the end of each epoch, validates and saves a checkpoint.
    `finish()` evaluates the test set, adds its first misclassified digits to TensorBoard,
    prints `test accuracy: ...` and returns the figures.

    Args:
      args: the parsed flags.
      sess: the session, in the graph that holds the model.
      mnist: the Datasets.
      x, y_: the image and label placeholders.
      logits: the model's output; its values on the test set are returned by finish().
      count_op: the number of correct predictions in a batch (see evaluation).
      learning_rate: a tensor, logged with the progress, if the rate changes.
    """

    def __init__(self, args, sess, mnist, x, y_, logits, count_op, learning_rate=None):
        self.args, self.sess, self.mnist = args, sess, mnist
        self._x, self._y, self._logits, self._count_op = x, y_, logits, count_op
        self._learning_rate = learning_rate
        self._global_step = tf.train.get_or_create_global_step()
        # No .meta files: the scripts rebuild their graphs from code.
        self._saver = tf.train.Saver(max_to_keep=3, save_relative_paths=True)
        self.checkpoint_path = None
        self.validation_accuracy = None

        self.total_steps = total_steps(args, mnist)

        if args.eval_only or args.resume:
            self.checkpoint_path = restore(sess, self._saver, args.run_dir, args)
        else:
            sess.run(tf.global_variables_initializer())
            if tf.train.latest_checkpoint(args.run_dir):
                print("starting afresh in %s, beside the checkpoints of an earlier run there "
                      "(--resume would continue from them)" % args.run_dir)
        self.start_step = sess.run(self._global_step)
        if args.eval_only:
            self.total_steps = self.start_step
        # Resume where the data left off, so the batches match those of an unbroken run.
        mnist.train.skip(self.start_step * args.batch_size)

        self._writer = None
        self._step = self.start_step
        self._epoch = mnist.train.epochs_completed
        self._train_seconds = 0.0
        self._interval_start = None
        self._interval_first_step = self.start_step  # of the steps the next progress line sums up
        self.losses = []  # every step's training loss, for plotting

    def steps(self):
        """The global steps still to train, from the restored one (0 in a new run)."""
        if self.start_step < self.total_steps:
            os.makedirs(self.args.run_dir, exist_ok=True)
            self._writer = tf.summary.FileWriter(self.args.run_dir, self.sess.graph)
            _write_config(self.args)
            print("training %d steps of %d (%.1f epochs) from step %d; checkpoints and logs "
                  "in %s" % (self.total_steps - self.start_step, self.args.batch_size,
                             self.total_steps * self.args.batch_size
                             / self.mnist.train.num_examples, self.start_step,
                             self.args.run_dir))
        self._interval_start = time.perf_counter()
        return range(self.start_step, self.total_steps)

    def step_done(self, loss_value, batch_accuracy):
        """Counts a step: a progress line now and then, validation and a checkpoint per epoch."""
        self._step += 1
        self.losses.append(float(loss_value))
        if math.isnan(loss_value):
            raise UsageError("the loss became NaN at step %d: lower --learning-rate"
                             % self._step)
        epoch_ended = self.mnist.train.epochs_completed > self._epoch
        last = self._step == self.total_steps
        if self._step % self.args.log_every == 0 or epoch_ended or last:
            seconds = time.perf_counter() - self._interval_start
            self._train_seconds += seconds
            interval = self.losses[self._interval_first_step - self._step:]
            mean_loss = sum(interval) / len(interval)
            images_per_s = len(interval) * self.args.batch_size / seconds
            scalars = {"loss": mean_loss, "accuracy/train_batch": batch_accuracy}
            line = "step %*d/%d  epoch %5.2f  loss %.4f  batch accuracy %.3f" % (
                len(str(self.total_steps)), self._step, self.total_steps,
                self._step * self.args.batch_size / self.mnist.train.num_examples,
                mean_loss, batch_accuracy)
            if self._learning_rate is not None:
                scalars["learning_rate"] = self.sess.run(self._learning_rate)
                line += "  lr %.2e" % scalars["learning_rate"]
            print("%s  %6.0f images/s" % (line, images_per_s), flush=True)
            if epoch_ended or last:
                self._epoch = self.mnist.train.epochs_completed
                self.validate(scalars)
                self.save()
            self._write_scalars(scalars)
            self._interval_first_step = self._step
            self._interval_start = time.perf_counter()

    def validate(self, scalars=None):
        """Evaluates the validation set, prints the accuracy and adds it to `scalars`."""
        if self.mnist.validation.num_examples:
            self.validation_accuracy, _ = self.evaluate(self.mnist.validation)
            print("validation accuracy %.4f" % self.validation_accuracy, flush=True)
            if scalars is not None:
                scalars["accuracy/validation"] = self.validation_accuracy

    def evaluate(self, dataset):
        """(accuracy, logits) of the model on every example of `dataset` (see evaluate)."""
        return evaluate(self.sess, self._count_op, self._logits, self._x, self._y, dataset)

    def save(self):
        """Writes a checkpoint of the current step; a crash mid-write leaves the last one whole."""
        # Saver writes the data, then atomically updates the `checkpoint` index: an
        # interrupted save leaves the index naming the previous, complete checkpoint.
        self.checkpoint_path = self._saver.save(
            self.sess, os.path.join(self.args.run_dir, "model.ckpt"),
            global_step=self._global_step, write_meta_graph=False)

    def finish(self):
        """Evaluates the test set; prints and returns the figures of the run."""
        trained = self._step - self.start_step
        if trained:
            images_per_s = trained * self.args.batch_size / max(self._train_seconds, 1e-9)
            print("trained %d steps in %.1f s (%.0f images/s); checkpoint %s"
                  % (trained, self._train_seconds, images_per_s, self.checkpoint_path))
        else:
            images_per_s = None
            print("evaluating checkpoint %s" % self.checkpoint_path)
        test_accuracy, test_logits = self.evaluate(self.mnist.test)
        if self._writer:
            self._write_misclassified(test_logits)
            self._writer.close()
        print("test accuracy: %.4f" % test_accuracy, flush=True)
        return {"test_accuracy": test_accuracy, "validation_accuracy": self.validation_accuracy,
                "global_step": self._step, "train_seconds": self._train_seconds,
                "train_images_per_s": images_per_s, "checkpoint": self.checkpoint_path,
                "losses": self.losses, "test_logits": test_logits}

    def _write_misclassified(self, test_logits):
        """Adds the first misclassified test digits to TensorBoard, titled with the prediction."""
        predictions = test_logits.argmax(axis=1)
        wrong = np.flatnonzero(predictions != self.mnist.test.labels)[:MISCLASSIFIED_IMAGES]
        images = self.mnist.test.images[wrong].reshape(-1, 28, 28)
        values = [tf.Summary.Value(
            tag="misclassified/test image %05d: predicted %d, labelled %d"
                % (index, predictions[index], self.mnist.test.labels[index]),
            image=tf.Summary.Image(height=28, width=28, colorspace=1, encoded_image_string=png))
            for index, png in zip(wrong, encode_png(images))]
        if values:
            self._writer.add_summary(tf.Summary(value=values), self._step)

    def _write_scalars(self, scalars):
        summary = tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=float(value))
                                    for tag, value in scalars.items()])
        self._writer.add_summary(summary, self._step)
        self._writer.flush()


# ---------------------------------------------------------------------------------------------
# Checkpoints.

def restore(sess, saver, run_dir, args=None):
    """Restores the last checkpoint in run_dir into sess; returns its path.

    Raises UsageError, naming the directory or checkpoint, when there is none, when it does
    not fit the model in sess.graph, or when `args` asks to --resume with another schedule.
    """
    path = tf.train.latest_checkpoint(run_dir)
    if path is None:
        raise UsageError("no checkpoint in %s: train first (without --resume or --eval-only), "
                         "or point --run-dir at a run that has one" % run_dir)
    try:
        saved_shapes = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise UsageError("cannot read checkpoint %s: %s" % (path, first_line(e)))
    for variable in tf.global_variables():  # what the Saver restores
        name = variable.op.name
        shape = variable.shape.as_list()
        if name not in saved_shapes:
            raise UsageError("checkpoint %s does not fit this model: it has no variable %s "
                             "(was it written by another script?)" % (path, name))
        if saved_shapes[name] != shape:
            raise UsageError("checkpoint %s does not fit this model: %s is %s there, %s here"
                             % (path, name, saved_shapes[name], shape))
    if args is not None and args.resume:
        saved = _read_config(run_dir)
        changed = [flag for flag in args.schedule_flags
                   if flag in saved and saved[flag] != getattr(args, flag)]
        if changed:
            raise UsageError("--resume with other training flags than %s was started with: %s; "
                             "resume with the same values" % (run_dir, ", ".join(
                                 "--%s %s (was %s)" % (flag.replace("_", "-"),
                                                       getattr(args, flag), saved[flag])
                                 for flag in changed)))
    try:
        saver.restore(sess, path)
    except tf.errors.OpError as e:
        raise UsageError("cannot restore checkpoint %s: %s" % (path, first_line(e)))
    return path


def encode_png(images):
    """PNG files (bytes) of grayscale images [N, height, width] with values in [0, 1]."""
    with tf.Graph().as_default():
        pixels = tf.placeholder(tf.uint8, [None, None, 1])
        png = tf.io.encode_png(pixels)
        with tf.Session() as sess:
            return [sess.run(png, feed_dict={pixels: np.round(image * 255)[..., None]})
                    for image in images]


def write_atomically(path, data):
    """Writes bytes to path through a temporary file, so that path is never half-written."""
    fd, temp_path = tempfile.mkstemp(dir=os.path.dirname(path) or ".",
                                     prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)  # mkstemp's files are private; this one need not be
        os.replace(temp_path, path)
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)


def _write_config(args):
    """Writes the run's flags beside its checkpoints."""
    flags = {name: value for name, value in vars(args).items() if name != "schedule_flags"}
    write_atomically(os.path.join(args.run_dir, CONFIG_FILE),
                     json.dumps(flags, indent=2, sort_keys=True).encode())


def _read_config(run_dir):
    try:
        with open(os.path.join(run_dir, CONFIG_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}  # checkpoints without a config (copied by hand): nothing to compare


def first_line(error):
    """The first line of a TensorFlow error's message: the part that says what went wrong."""
    message = getattr(error, "message", None) or str(error)
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


# ---------------------------------------------------------------------------------------------
# The command line.

def run_main(main, script):
    """Runs main() as a command: a bad flag, file or checkpoint gives one line and exit 2."""
    prog = os.path.basename(script)
    try:
        main()
    except (input_data.DataError, UsageError) as e:
        print("%s: error: %s" % (prog, e), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\n%s: interrupted; the last checkpoint saved is still complete "
              "(--resume continues from it)" % prog, file=sys.stderr)
        sys.exit(130)
