"""The bookkeeping around a lesson's training loop: the loop says *when* it logs, validates
and saves (see softmax_mnist.py's main()); Run says *how*."""
import math
import os
import threading
import time

from tfmnist import checkpoints, command_line, flags, rundirs
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf


class Run:
    """One training run, in a `with` statement that opens its run directory (rundirs.open_run)
    and closes it however the run ends. Args: the flags; the session; the Datasets; the
    evaluator (evaluation.Classifier, ...); the learning rate to log; what a checkpoint holds
    and the step counter, if not the graph's variables and global step."""
    replicas = 1  # the batches a step trains (a synchronous cluster's: one from each worker)
    writes = True  # this process writes the run (a cluster's workers but the chief: no)
    who = ""  # what starts its progress lines (a cluster's worker: "worker 1: ")

    def __init__(self, args, sess, mnist, evaluator, learning_rate=None, variables=None,
                 global_step=None):
        self.args, self.sess, self.mnist, self.evaluator = args, sess, mnist, evaluator
        self._learning_rate = learning_rate
        self.checkpoints = checkpoints.RunCheckpoints(variables, global_step)
        self.restoring = (args.resume or args.eval_only) and self.writes
        self.total_steps = flags.total_steps(args, mnist, self.replicas)
        self.start_step = 0
        self.run_dir = self.checkpoint_path = self._saved_step = None
        self.progress = Progress(args, mnist.train.num_examples, self.replicas)
        # The loop's questions, answered by the progress.
        self.log_due, self.epoch_ended = self.progress.log_due, self.progress.epoch_ended
        self.losses = self.progress.losses
        self._lock, self.output = None, NO_WRITER  # what it writes besides checkpoints: steps()

    def __enter__(self):
        if self.writes and getattr(self.args, "export", None):
            from tfmnist import export  # serving code, loaded only to export
            export.check_target(self.args.export)  # before training, not after
        if self.writes and not self.args.no_save:
            self.run_dir, self._lock = rundirs.open_run(
                self.args, flags.config_of(self.args, self.replicas))
        return self

    def __exit__(self, exc_type, exc, traceback):
        if isinstance(exc, KeyboardInterrupt) and self.writes:
            exc.checkpoint = self.checkpoint_path  # for the command's last line
        self.output.close()
        self.output = NO_WRITER
        if self._lock is not None:  # a new run that saved no checkpoint leaves nothing
            rundirs.close_run(self.run_dir, self._lock, self.args.resume or self.checkpoint_path)
            self._lock = None

    def restore(self):
        """Restores the run's last checkpoint (to evaluate, only what the output needs)."""
        from tfmnist import restoring  # a run read back: only then
        self.checkpoint_path = restoring.restore_run(
            self.sess, self.checkpoints, self.run_dir,
            self.evaluator if self.args.eval_only else None)

    def steps(self):
        """The steps still to train, numbered from 1: those after the restored one."""
        self.start_step = self.checkpoints.step(self.sess)
        if self.args.eval_only:
            self.total_steps = self.start_step
        if self.start_step < self.total_steps:
            if self.run_dir is not None:
                self.checkpoints.check_free_space(self.run_dir)
                self.output = RunWriter(self.run_dir, None if self.restoring
                                        else self.sess.graph, self.start_step)
            # Resume where the data left off, so the batches match those of an unbroken run.
            self.mnist.train.skip(self.start_step * self.args.batch_size)
        self.progress.start(self.start_step, self.total_steps, self.who, self.run_dir)
        return self.progress.steps(self.next_step)

    next_step = staticmethod(lambda step: step + 1)  # a cluster's worker: after the global step

    def record(self, loss_value):
        """Keeps a step's loss, for the progress lines and the curves; stops at a NaN."""
        self.progress.record(loss_value)

    def log_progress(self, step, batch_accuracy=None):
        """Prints and logs the mean loss of the steps since the last line, and the speed."""
        rate = None if self._learning_rate is None else self.sess.run(self._learning_rate)
        self.output.scalars(self.progress.line(step, batch_accuracy, rate), step)

    def validate(self, step):
        """Evaluates the validation set (if there is one), prints and logs the figure."""
        if self.mnist.validation.num_examples and self.writes:
            pause = time.perf_counter()
            figure, _ = self.evaluator.evaluate(self.sess, self.mnist.validation)
            self.progress.paused(pause)
            self.output.scalars(self.progress.validated(step, self.evaluator.metric, figure),
                                step)

    def save(self, step):
        """Writes a checkpoint of this step (with --no-save, nothing)."""
        if self.run_dir is not None:
            pause = time.perf_counter()
            self.checkpoint_path = self.checkpoints.save(self.sess, self.run_dir, step,
                                                         self.checkpoint_path is not None)
            self._saved_step = step
            self.progress.paused(pause)

    def finish(self, global_step=None, **more_figures):
        """Evaluates the test set; prints the figures, writes them to metrics.json with a
        picture of the training curves (and --export's SavedModel), and returns them."""
        trained, seconds, images_per_s = self.progress.speed()
        if not self.who:  # a cluster's worker says what it trained itself
            print("trained %d steps in %.1f s (%.0f images/s); checkpoint %s"
                  % (trained, seconds, images_per_s, self.checkpoint_path) if trained
                  else "evaluating checkpoint %s" % self.checkpoint_path)
        global_step = self.start_step + trained if global_step is None else global_step
        test_figure, test_outputs = self.evaluator.evaluate(self.sess, self.mnist.test)
        metric = self.evaluator.metric
        figures = dict(self.progress.figures(metric), global_step=global_step,
                       checkpoint=self.checkpoint_path, run_dir=self.run_dir, **more_figures,
                       **{"test_" + metric.replace(" ", "_"): test_figure})
        self.output.results(figures, self.evaluator.pictures(self.mnist.test, test_outputs),
                            self.losses, metric, self.args.script, self.start_step)
        print("test %s: %.4f" % (metric, test_figure), flush=True)
        if getattr(self.args, "export", None):  # --export DIR
            from tfmnist import export  # serving code, loaded only to export
            export.export_run(self.args.script, self.run_dir, self.args.export)
        return dict(figures, losses=self.losses,
                    **{"test_" + self.evaluator.outputs: test_outputs})

    def add_picture(self, name, png):
        """Writes NAME.png in the run directory and TensorBoard (not with --eval-only)."""
        self.output.picture(name, png, self.start_step + len(self.losses))


class Progress:
    """A run's schedule and record: when to log and validate, each step's loss, the progress
    lines, and the training time (evaluation and saving left out)."""

    def __init__(self, args, examples_per_epoch, replicas=1):
        self.batch_size, self.log_every = args.batch_size, args.log_every
        self.examples_per_epoch, self.replicas = examples_per_epoch, replicas
        self.step_images = args.batch_size * replicas  # with --sync-replicas, a batch each
        self.losses = []  # every step's training loss, for the curves
        self.lines = []  # {step, loss, images_per_s} at each progress line
        self.validations, self.validation_figure = [], None  # {step, metric: value} each time
        self.train_seconds, self._first_loss_of_line = 0.0, 0
        self.first_step = self.previous_step = self.total_steps = 0

    def start(self, step, total_steps, who="", run_dir=None):
        """Starts the clock, from the step after `step` to `total_steps`, with a line that
        says how much it trains and where it writes (who: a cluster's task, "worker 1: ")."""
        where = ("checkpoints and logs in %s" % run_dir if run_dir else
                 "the chief writes the run" if who else "nothing is written (--no-save)")
        self.first_step = self.previous_step = step
        self.total_steps = total_steps
        if step < total_steps:
            batches = ("%d x %d" % (self.replicas, self.batch_size) if self.replicas > 1
                       else self.batch_size)
            print("%straining %d steps of %s (%.1f epochs) from step %d; %s" % (
                who, total_steps - step, batches, self.epoch(total_steps), step, where),
                flush=True)
        self._line_start = time.perf_counter()

    def steps(self, next_step):
        """The steps from the one after the start to the last (next_step: the one after)."""
        step = self.first_step + 1
        while step <= self.total_steps:
            yield step
            self.previous_step = step
            step = next_step(step)

    def epoch(self, step):
        return step * self.step_images / self.examples_per_epoch

    def record(self, loss_value):
        """Keeps a step's loss, for the progress lines and the curves; stops at a NaN."""
        if math.isnan(loss_value):
            raise UsageError("the loss became NaN at step %d: lower --learning-rate"
                             % (self.first_step + len(self.losses) + 1))
        self.losses.append(float(loss_value))

    def log_due(self, step):
        """True every --log-every steps, and at the last (in a cluster, the steps another
        worker trained since this one's last count too)."""
        every = self.log_every
        return step // every > self.previous_step // every or step >= self.total_steps

    def epoch_ended(self, step):
        """True when this step finished a pass over the training set, and at the last."""
        per_epoch = self.examples_per_epoch
        return (step * self.step_images // per_epoch
                > self.previous_step * self.step_images // per_epoch or step >= self.total_steps)

    def line(self, step, batch_accuracy=None, learning_rate=None):
        """Prints the line of `step`: the mean loss since the last line, the batch's
        accuracy, the learning rate, the speed; returns them as TensorBoard's scalars."""
        seconds = time.perf_counter() - self._line_start
        self.train_seconds += seconds
        losses = self.losses[self._first_loss_of_line:]
        scalars, extra = {"loss": sum(losses) / len(losses)}, ""
        if batch_accuracy is not None:
            scalars["accuracy/train_batch"] = batch_accuracy
            extra += "  batch accuracy %.3f" % batch_accuracy
        if learning_rate is not None:
            scalars["learning_rate"] = learning_rate
            extra += "  lr %.2e" % learning_rate
        images_per_s = len(losses) * self.batch_size / seconds
        print("step %*d/%d  epoch %5.2f  loss %.4f%s  %6.0f images/s" % (
            len(str(self.total_steps)), step, self.total_steps, self.epoch(step),
            scalars["loss"], extra, images_per_s), flush=True)
        self.lines.append({"step": step, "loss": scalars["loss"], "images_per_s": images_per_s})
        self._first_loss_of_line = len(self.losses)
        self._line_start = time.perf_counter()
        return scalars

    def validated(self, step, metric, figure):
        """Prints and keeps a validation figure; returns it as TensorBoard's scalar."""
        print("validation %s %.4f" % (metric, figure), flush=True)
        self.validation_figure = figure
        self.validations.append({"step": step, metric: figure})
        return {"%s/validation" % metric.replace(" ", "_"): figure}

    def figures(self, metric):
        """What metrics.json says of training: the speed, the lines, the validations."""
        trained, seconds, images_per_s = self.speed()
        return {"train_seconds": seconds, "train_images_per_s": images_per_s,
                "progress": self.lines, "validations": self.validations,
                "validation_" + metric.replace(" ", "_"): self.validation_figure}

    def paused(self, since):
        """Leaves the time from `since` (a perf_counter reading) to now out of training."""
        self._line_start += time.perf_counter() - since

    def speed(self):
        """(steps trained, their seconds, images a second)."""
        trained, seconds = len(self.losses), self.train_seconds
        return trained, seconds, (trained * self.batch_size / max(seconds, 1e-9)
                                  if trained else None)


class RunWriter:
    """What a training run writes besides its checkpoints: TensorBoard's events, flushed as
    they come, its pictures and metrics.json. A full disk is a UsageError at the flush, not
    a traceback from TensorBoard's writing thread (which a run quiets while it writes).
    graph: the graph to show (None as a run resumes); start_step: a resumed run's first
    step, after which TensorBoard drops what an interrupted run logged."""

    def __init__(self, run_dir, graph, start_step):
        self.run_dir = run_dir
        with tf.Graph().as_default():  # a FileWriter refuses to be made in eager mode
            self._writer = tf.summary.FileWriter(run_dir, graph)
        if start_step:
            self._writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), start_step)
        self._excepthook = getattr(threading, "excepthook", None)  # Python 3.8 and newer
        if self._excepthook is not None:  # novm: vermin cannot see this guard
            threading.excepthook = self._quiet_writer_thread  # novm

    def _quiet_writer_thread(self, args):
        if args.thread is None or args.thread.name != "EventLoggerThread":
            self._excepthook(args)

    def scalars(self, values, step):
        self._writer.add_summary(tf.Summary(value=[
            tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()
        ]), step)
        self._flush()

    def _image(self, tag, png, step):
        """Adds a PNG file's bytes as an image; its header says its size and channels."""
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[png[25]]  # grey, RGB, grey + alpha, RGBA
        self._writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag=tag, image=tf.Summary.Image(
            height=height, width=width, colorspace=channels, encoded_image_string=png))]), step)

    def picture(self, name, png, step):
        """Writes NAME.png in the run directory, and adds it to TensorBoard."""
        path = os.path.join(self.run_dir, name + ".png")
        try:
            rundirs.write_atomically(path, png)
        except OSError as e:
            raise UsageError("cannot write %s: %s" % (path, e.strerror or e))
        self._image(name, png, step)
        self._flush()

    def results(self, figures, images, losses, metric, script, first_step):
        """The run's end: images [(title, 28x28)] to TensorBoard, the figures to
        metrics.json, and the losses and validations drawn as training_curves.png."""
        from tfmnist import pictures  # matplotlib takes a second to load: only runs that draw

        title = "%s, run %s: steps %d to %d" % (script, os.path.basename(self.run_dir),
                                                 first_step, figures["global_step"])
        for image_title, image in images:
            self._image(image_title, pictures.grey_png(image), figures["global_step"])
        self._flush()
        rundirs.write_json(self.run_dir, rundirs.METRICS_FILE, figures)
        self.picture("training_curves", pictures.training_curves(
            losses, figures["validations"], metric, title, first_step), figures["global_step"])

    def _flush(self):
        try:
            self._writer.flush()
        except Exception as e:  # raised from the writing thread: IndexError, OSError, ...
            raise UsageError("cannot write the TensorBoard log in %s: %s"
                             % (self.run_dir, error_reason(e)))

    def close(self):
        # A signal (Ctrl-C, SIGTERM) can stop this thread inside the writer's queue, between
        # its putting an event and counting it: its thread then dies at the count, and
        # closing would wait for that thread for ever. So the writer is closed from a thread
        # of its own, waited for CLOSE_SECONDS at most; what was flushed is on disk already.
        closing = threading.Thread(target=self._close_writer, daemon=True)
        closing.start()
        closing.join(CLOSE_SECONDS)
        if closing.is_alive():  # the program's end does not wait for it either
            command_line.LEFT_RUNNING.append(closing)
        if self._excepthook is not None:
            threading.excepthook = self._excepthook  # novm: guarded, as above


    def _close_writer(self):
        try:
            self._writer.close()
        except Exception:  # a full disk: the run is ending with that error already
            pass


CLOSE_SECONDS = 10  # the longest a run waits for TensorBoard's writer to close


class _NoWriter:
    """What a run that writes nothing writes: --no-save, --eval-only."""

    def _nothing(self, *args):
        pass

    scalars = picture = results = close = _nothing


NO_WRITER = _NoWriter()
