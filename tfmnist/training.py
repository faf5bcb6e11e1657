"""The bookkeeping around a script's training loop. The loop says *when* it logs, validates
and saves; Run says *how*:

    with tf.Session() as sess, Run(args, sess, mnist, Classifier(...)) as run:
        if run.restoring:  # --resume or --eval-only: the run's last checkpoint
            run.restore()
        else:
            sess.run(tf.global_variables_initializer())
        for step in run.steps():  # 1, 2, ... from the step after the restored one
            batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
            _, loss_value = sess.run([train_step, loss], feed_dict={x: batch_xs, y_: batch_ys})
            run.record(loss_value)
            if run.log_due(step):
                run.log_progress(step)
            if run.epoch_ended(step):
                run.validate(step)
                run.save(step)
        metrics = run.finish()

With --no-save it writes nothing: no run directory, checkpoints, logs or pictures.
"""
import math
import os
import threading
import time

from tfmnist import checkpoints, flags, image_files, rundirs
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf


class Run:
    """One training run, in a `with` statement: entering it finds (and, to train, locks) the
    run directory and writes config.json; leaving it closes the TensorBoard log and releases
    the lock, however the run ends. A new run stopped before its first checkpoint takes its
    files away again.

    Args:
      args: the parsed flags (see flags.py).
      sess: the session, in the graph that holds the model.
      mnist: the Datasets.
      evaluator: what to evaluate, an evaluation.Classifier or Reconstruction.
      learning_rate: a tensor, logged with the progress, if the rate changes.
      variables, global_step: what a checkpoint holds, and the step counter (default: the
        graph's).
    """

    def __init__(self, args, sess, mnist, evaluator, learning_rate=None, variables=None,
                 global_step=None):
        self.args, self.sess, self.mnist, self.evaluator = args, sess, mnist, evaluator
        self._learning_rate = learning_rate
        self._tag = evaluator.metric.replace(" ", "_")
        self._global_step = (tf.train.get_or_create_global_step() if global_step is None
                             else global_step)
        self._variables = tf.global_variables() if variables is None else variables
        self._saver = checkpoints.make_saver(self._variables)
        self.restoring = args.resume or args.eval_only
        self.total_steps = flags.total_steps(args, mnist)
        self.start_step = 0
        self.run_dir = self.checkpoint_path = self.validation_figure = None
        self.progress = Progress(args.batch_size, mnist.train.num_examples, self.total_steps)
        self.losses = self.progress.losses
        self.validations = []  # {step, metric: value} at each validation
        self._lock = self._log = None

    def __enter__(self):
        try:
            if not self.args.no_save:
                self.run_dir, created = find_run_dir(self.args)
                if not self.args.eval_only:
                    self._lock = rundirs.claim(self.run_dir, fresh=not self.args.resume,
                                               created=created)
                if not self.restoring:
                    rundirs.write_json(self.run_dir, rundirs.CONFIG_FILE, config_of(self.args))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, traceback):
        if isinstance(exc, KeyboardInterrupt):
            exc.checkpoint = self.checkpoint_path  # for the command's last line
        self.close()

    def close(self):
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock is not None:
            if not (self.args.resume or self.checkpoint_path):
                rundirs.remove_unsaved_run(self.run_dir, self._lock)
            self._lock.close()
            self._lock = None

    def restore(self):
        """Restores the run's last checkpoint, refusing one that another model or, to
        resume, another schedule wrote. Evaluating restores the model's variables and the
        step, not the optimizer's: a run trained in eager mode saved no optimizer state."""
        args = self.args
        checkpoints.latest(self.run_dir)  # a missing or damaged checkpoint is named first
        if args.resume:
            checkpoints.check_flags(self.run_dir, args, args.schedule_flags, "--resume",
                                    "training", "resume with the same values")
            variables, saver = self._variables, self._saver
        else:
            if args.model_flags:
                checkpoints.check_flags(self.run_dir, args, args.model_flags, "--eval-only",
                                        "model", "evaluate with the same values")
            variables = self.evaluator.variables(self._variables)
            if not any(variable is self._global_step for variable in variables):
                variables.append(self._global_step)
            saver = checkpoints.make_saver(variables)
        self.checkpoint_path = checkpoints.restore(self.sess, saver, self.run_dir, variables)

    def steps(self):
        """The steps still to train, numbered from 1: those after the restored one."""
        args = self.args
        self.start_step = int(self.sess.run(self._global_step))
        if args.eval_only:
            self.total_steps = self.start_step
        if self.start_step < self.total_steps:
            if self.run_dir is not None:
                checkpoints.check_free_space(self.run_dir, self._variables)
                self._log = TensorBoardLog(self.run_dir, None if self.restoring
                                           else self.sess.graph, self.start_step)
            # Resume where the data left off, so the batches match those of an unbroken run.
            self.mnist.train.skip(self.start_step * args.batch_size)
            print("training %d steps of %d (%.1f epochs) from step %d; %s"
                  % (self.total_steps - self.start_step, args.batch_size,
                     self.total_steps * args.batch_size / self.mnist.train.num_examples,
                     self.start_step, "checkpoints and logs in %s" % self.run_dir
                     if self.run_dir else "nothing is written (--no-save)"), flush=True)
        self.progress.total_steps = self.total_steps
        self.progress.start(self.start_step)
        return range(self.start_step + 1, self.total_steps + 1)

    def record(self, loss_value):
        """Keeps a step's loss, for the progress lines and the curves; stops at a NaN."""
        self.progress.record(loss_value)

    def log_due(self, step):
        """True every --log-every steps, and at the last."""
        return step % self.args.log_every == 0 or step == self.total_steps

    def epoch_ended(self, step):
        """True when this step's batch finished a pass over the training set, and at the
        last step."""
        per_epoch = self.mnist.train.num_examples
        batch_size = self.args.batch_size
        return (step * batch_size // per_epoch > (step - 1) * batch_size // per_epoch
                or step == self.total_steps)

    def log_progress(self, step, batch_accuracy=None):
        """Prints and logs the mean loss of the steps since the last line, and the speed."""
        scalars, extra = {}, ""
        if batch_accuracy is not None:
            scalars["accuracy/train_batch"] = batch_accuracy
            extra += "  batch accuracy %.3f" % batch_accuracy
        if self._learning_rate is not None:
            scalars["learning_rate"] = self.sess.run(self._learning_rate)
            extra += "  lr %.2e" % scalars["learning_rate"]
        self.progress.line(step, scalars, extra)
        self._write(lambda log: log.scalars(scalars, step))

    def validate(self, step):
        """Evaluates the validation set (if there is one), prints and logs the figure."""
        pause = time.perf_counter()
        if self.mnist.validation.num_examples:
            self.validation_figure, _ = self.evaluator.evaluate(self.sess, self.mnist.validation)
            print("validation %s %.4f" % (self.evaluator.metric, self.validation_figure),
                  flush=True)
            self.validations.append({"step": step, self.evaluator.metric: self.validation_figure})
            self._write(lambda log: log.scalars({"%s/validation" % self._tag:
                                                 self.validation_figure}, step))
        self.progress.paused(pause)

    def save(self, step):
        """Writes a checkpoint of this step (with --no-save, nothing)."""
        if self.run_dir is None:
            return
        pause = time.perf_counter()
        self.checkpoint_path = checkpoints.save(self.sess, self._saver, self.run_dir, step,
                                                self.checkpoint_path is not None)
        self.progress.paused(pause)

    def finish(self):
        """Evaluates the test set; prints the figures, writes them to metrics.json with a
        picture of the training curves, and returns them."""
        trained, seconds = len(self.losses), self.progress.train_seconds
        if trained:
            images_per_s = trained * self.args.batch_size / max(seconds, 1e-9)
            print("trained %d steps in %.1f s (%.0f images/s); checkpoint %s"
                  % (trained, seconds, images_per_s, self.checkpoint_path))
        else:
            images_per_s = None
            print("evaluating checkpoint %s" % self.checkpoint_path)
        test_figure, test_outputs = self.evaluator.evaluate(self.sess, self.mnist.test)
        figures = {"test_" + self._tag: test_figure,
                   "validation_" + self._tag: self.validation_figure,
                   "global_step": self.start_step + trained,
                   "train_seconds": seconds if trained else 0.0,
                   "train_images_per_s": images_per_s, "checkpoint": self.checkpoint_path,
                   "run_dir": self.run_dir, "progress": self.progress.lines,
                   "validations": self.validations}
        if self._log is not None:
            for title, image in self.evaluator.pictures(self.mnist.test, test_outputs):
                self._log.image(title, image_files.encode_png(image), figures["global_step"])
            self._write(lambda log: log.flush())
            rundirs.write_json(self.run_dir, rundirs.METRICS_FILE, figures)
            from tfmnist import pictures  # matplotlib takes a second to load: only runs that draw

            self.add_picture("training_curves", pictures.training_curves(
                self.losses, self.validations, self.evaluator.metric,
                "%s, run %s: steps %d to %d" % (self.args.script, os.path.basename(self.run_dir),
                                                self.start_step, self.start_step + trained),
                self.start_step))
        print("test %s: %.4f" % (self.evaluator.metric, test_figure), flush=True)
        return dict(figures, losses=self.losses, **{"test_" + self.evaluator.outputs:
                                                    test_outputs})

    def add_picture(self, name, png):
        """Writes a picture as NAME.png in the run directory and adds it to TensorBoard.

        Only a run that trains writes: --eval-only and --no-save leave no picture.
        """
        if self._log is None:
            return
        path = os.path.join(self.run_dir, name + ".png")
        try:
            rundirs.write_atomically(path, png)
        except OSError as e:
            raise UsageError("cannot write %s: %s" % (path, e.strerror or e))
        self._log.image(name, png, self.start_step + len(self.losses))
        self._write(lambda log: log.flush())

    def _write(self, action):
        """Does `action` to the TensorBoard log, if the run keeps one."""
        if self._log is not None:
            action(self._log)


class Progress:
    """Each step's loss, the progress lines, and the training time (evaluation and saving
    left out)."""

    def __init__(self, batch_size, examples_per_epoch, total_steps):
        self.batch_size, self.examples_per_epoch = batch_size, examples_per_epoch
        self.total_steps = total_steps
        self.losses = []  # every step's training loss, for plotting
        self.lines = []  # {step, loss, images_per_s} at each progress line
        self.train_seconds = 0.0
        self.start(0)

    def start(self, step):
        """Starts the clock, from the step after `step`."""
        self.first_step = self._interval_first_step = step  # of the steps a line sums up
        self._interval_start = time.perf_counter()

    def record(self, loss_value):
        if math.isnan(loss_value):
            raise UsageError("the loss became NaN at step %d: lower --learning-rate"
                             % (self.first_step + len(self.losses) + 1))
        self.losses.append(float(loss_value))

    def line(self, step, scalars, extra):
        """Prints the line of `step`: the mean loss since the last line, the speed, and
        `extra` (text); adds the mean loss to `scalars`."""
        seconds = time.perf_counter() - self._interval_start
        self.train_seconds += seconds
        interval = self.losses[self._interval_first_step - step:]
        scalars["loss"] = sum(interval) / len(interval)
        images_per_s = len(interval) * self.batch_size / seconds
        print("step %*d/%d  epoch %5.2f  loss %.4f%s  %6.0f images/s" % (
            len(str(self.total_steps)), step, self.total_steps,
            step * self.batch_size / self.examples_per_epoch, scalars["loss"], extra,
            images_per_s), flush=True)
        self.lines.append({"step": step, "loss": scalars["loss"], "images_per_s": images_per_s})
        self._interval_first_step = step
        self._interval_start = time.perf_counter()

    def paused(self, since):
        """Leaves the time from `since` (a perf_counter reading) to now out of training."""
        self._interval_start += time.perf_counter() - since


class TensorBoardLog:
    """A run's TensorBoard events: scalars and images, flushed as they come. A full disk is a
    UsageError at the flush, not a traceback from the writing thread.

    Args:
      graph: the graph to show (None: none, as when a run resumes).
      start_step: a resumed run's first step: TensorBoard drops what an interrupted run
        logged after it.
    """

    def __init__(self, run_dir, graph, start_step):
        self.run_dir = run_dir
        with tf.Graph().as_default():  # a FileWriter refuses to be made in eager mode
            self._writer = tf.summary.FileWriter(run_dir, graph)
        if start_step:
            self._writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), start_step)
        # The FileWriter's thread prints a traceback when the disk is full, and the same
        # error comes again at the next flush, which says it in one line.
        self._excepthook = getattr(threading, "excepthook", None)  # Python 3.8 and newer
        if self._excepthook is not None:
            threading.excepthook = self._quiet_writer_thread

    def _quiet_writer_thread(self, args):
        if args.thread is None or args.thread.name != "EventLoggerThread":
            self._excepthook(args)

    def scalars(self, values, step):
        self._writer.add_summary(tf.Summary(value=[
            tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()
        ]), step)
        self.flush()

    def image(self, tag, png, step):
        """Adds a PNG file's bytes (image_files.encode_png, pictures.py) as an image."""
        height, width, channels = image_files.png_shape(png)
        self._writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag=tag, image=tf.Summary.Image(
            height=height, width=width, colorspace=channels, encoded_image_string=png))]), step)

    def flush(self):
        try:
            self._writer.flush()
        except Exception as e:  # raised from the writing thread: IndexError, OSError, ...
            raise UsageError("cannot write the TensorBoard log in %s: %s"
                             % (self.run_dir, error_reason(e)))

    def close(self):
        try:
            self._writer.close()
        except Exception:  # a full disk: the run is ending with that error already
            pass
        if self._excepthook is not None:
            threading.excepthook = self._excepthook


def find_run_dir(args):
    """(the run directory the flags ask for, whether it was made now): --run-dir, a new
    numbered one to start a run, or the highest numbered one to resume or evaluate.

    A --run-dir that holds numbered runs but none of its own, such as runs/cnn_mnist, stands
    for the newest run in it when resuming or evaluating.
    """
    resuming = args.resume or args.eval_only
    if args.run_dir:
        if resuming and not rundirs.holds_run(args.run_dir):
            newest = rundirs.newest(args.run_dir, with_checkpoint=args.eval_only)
            if newest is not None and newest != args.run_dir:
                return newest, False
        return args.run_dir, False
    parent = rundirs.script_runs(args.script)
    if not resuming:
        return rundirs.new_numbered(parent), True
    newest = rundirs.newest(parent, with_checkpoint=args.eval_only)
    if newest is None:
        raise UsageError("no run in %s to %s: train one first with `python %s.py`" % (
            parent, "resume" if args.resume else "evaluate", args.script))
    return newest, False


def config_of(args):
    """The flags worth keeping beside a run's checkpoints: all but bookkeeping."""
    return {name: value for name, value in vars(args).items()
            if name not in ("schedule_flags", "model_flags", "resume", "eval_only", "no_save")}
