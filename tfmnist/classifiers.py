"""The trained classifiers that classify.py, draw.py, --export, the benchmark and the tests
ask: which run of each lesson answers (its newest full run), and the one way to load one:

    predictor = classifiers.load("cnn")               # or load("cnn", run_dir)
    predictor.probabilities(images)                   # [N, 10] for images [N, 784] in [0, 1]

from a run's last checkpoint, or from a SavedModel (export.py).

A model is rebuilt from the flags its run was trained with (the flags its lesson's parser
names as model flags, read from the run's config.json), never from today's defaults: an
`mlp_mnist.py --activation tanh` run is answered through tanh.
"""
import functools
import json
import os

import numpy as np

from tfmnist import export, lessons, restoring, rundirs
from tfmnist.command_line import UsageError
from tfmnist.evaluation import in_batches
from tfmnist.tf1 import error_reason, tf

BATCH_SIZE = 1000  # images a session run classifies at once
SAVED_MODEL_BYTES = 2 << 30  # the most a saved_model.pb holds: protobuf's limit, 2 GB


def run_dir_of(name, run_dir=None):
    """The run directory whose checkpoint answers for classifier `name`: run_dir, or for a
    directory of numbered runs (default: runs/SCRIPT) its newest full run (see short_run),
    else its newest run with a checkpoint; or run_dir itself if it holds a SavedModel
    (export.py). Raises UsageError when there is none, or its checkpoint is damaged."""
    script = lessons.LESSONS[name]
    if export.is_saved_model(run_dir):
        return run_dir
    parent = run_dir or rundirs.script_runs(script)
    found = run_dir if run_dir and rundirs.holds_run(run_dir) else None
    if found is None:  # a short run answers only when there is no full one
        trained = [path for _, path in rundirs.numbered_runs(parent)
                   if os.path.exists(os.path.join(path, "checkpoint"))]
        full = [path for path in trained if short_run(name, path) is None]
        found = (full or trained or [None])[-1]
    if found is None or not rundirs.holds_run(found):
        raise UsageError("no trained %s model in %s%s: train one first with `python %s.py`"
                         % (name, parent, restoring.describe(parent), script))
    restoring.latest(found)  # refuses a missing or damaged one now
    return found


def short_run(name, run_dir):
    """How the run in run_dir trained less than `python SCRIPT.py` does, or None: it was
    given --steps or fewer --epochs than the lesson's default, or it stopped before its end
    (no metrics.json yet). A run whose config.json cannot be read is not called short here:
    loading it says what is wrong."""
    try:
        config = restoring.read_config(run_dir)
        epochs, steps = float(config["epochs"]), config["steps"]
    except (UsageError, KeyError, TypeError, ValueError):
        return None
    default = lessons.lesson(name).build_parser().get_default("epochs")
    command = "`python %s.py`" % lessons.LESSONS[name]
    if steps:
        return "%s steps, where %s trains %g epochs" % (steps, command, default)
    if epochs < default:
        return "%g epoch%s, where %s trains %g" % (epochs, "" if epochs == 1 else "s",
                                                    command, default)
    if not os.path.exists(os.path.join(run_dir, rundirs.METRICS_FILE)):
        return "it stopped before the end of its %g epochs (--resume finishes it)" % epochs
    return None


def describe(name, run_dir):
    """Which model answers, in a line: the lesson, its run (or SavedModel) and test figure,
    and whether it is a short run."""
    if export.is_saved_model(run_dir):
        return "%s, the SavedModel in %s" % (name, run_dir)
    text = "%s, run %s" % (name, run_dir)
    try:
        accuracy = json.loads(restoring.read_small_file(
            os.path.join(run_dir, rundirs.METRICS_FILE)))["test_accuracy"]
        text += " (test accuracy %.2f%%)" % (100 * accuracy)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not finished, or not saying: the run is still named
    short = short_run(name, run_dir)
    return text + ("; a short run: %s" % short if short else "")


def inference_of(name, run_dir):
    """The function images [batch, 784] -> logits of classifier `name`, with the model flags
    its run in run_dir was trained with."""
    lesson = lessons.lesson(name)
    config = restoring.read_config(run_dir)
    model_flags = lesson.build_parser().model_flags
    missing = [flag for flag in model_flags if flag not in config]
    if missing:
        raise UsageError("%s/%s does not say the run's --%s: it was not written by %s.py"
                         % (run_dir, rundirs.CONFIG_FILE, missing[0].replace("_", "-"),
                            lesson.__name__))
    # JSON holds a tuple of layer sizes as a list.
    return functools.partial(lesson.inference, **{
        flag: tuple(config[flag]) if isinstance(config[flag], list) else config[flag]
        for flag in model_flags})


def load(name, run_dir=None):
    """The trained classifier `name` (cnn, ...), as a Predictor: from run_dir (a run, a
    directory of numbered runs, or a SavedModel's), or the newest run of its script that
    saved a checkpoint. Raises UsageError, naming the file, for one that cannot be."""
    run_dir = run_dir_of(name, run_dir)
    if export.is_saved_model(run_dir):
        predictor = Predictor.from_saved_model(run_dir, name)
    else:
        predictor = Predictor.from_checkpoint(inference_of(name, run_dir), run_dir, name)
    predictor.description = describe(name, run_dir)
    try:
        predictor.probabilities(np.zeros((1, 784), np.float32))  # its answers checked now
    except BaseException:
        predictor.close()
        raise
    return predictor


def _checked_signature(meta_graph, export_dir):
    """The SavedModel's serving signature, if it is the one export.py writes: images float32
    [batch, 784] in, probabilities float32 [batch, 10] out. Else a UsageError naming what
    differs: another program's model would answer nonsense, or nothing."""
    def refuse(what):
        raise UsageError("the SavedModel in %s is not a classifier of MNIST digits as this "
                         "project exports them: %s" % (export_dir, what))

    if export.SIGNATURE not in meta_graph.signature_def:
        refuse("it has no %r signature (it has: %s)" % (export.SIGNATURE, ", ".join(
            sorted(meta_graph.signature_def)) or "none"))
    signature = meta_graph.signature_def[export.SIGNATURE]
    others = sorted(set(signature.outputs) - {"probabilities", "classes"})
    if others:
        refuse("its signature has outputs an export of this project has not: %s"
               % ", ".join(others))
    for side, tensors, name, size in (("input", signature.inputs, "images", 784),
                                      ("output", signature.outputs, "probabilities", 10)):
        if name not in tensors:
            refuse("its signature has no %s %r (it has: %s)"
                   % (side, name, ", ".join(sorted(tensors)) or "none"))
        dtype = tf.as_dtype(tensors[name].dtype)
        shape = tf.TensorShape(tensors[name].tensor_shape)
        dims = shape.as_list() if shape.rank is not None else None
        if dtype != tf.float32 or dims is None or len(dims) != 2 or dims[1] != size:
            refuse("its %s %r is %s %s, not float32 [None, %d]" % (
                side, name, dtype.name, dims if dims is not None else "of unknown shape",
                size))
    return signature


class Predictor:
    """A trained classifier, loaded once into a graph and session of its own, which nothing
    may add to. Use load() or the two constructors; then probabilities(images).

    images, probabilities_op: the input placeholder [None, 784] and the output [None, 10];
    logits_op: the logits, where the model is rebuilt from a checkpoint (else None);
    checkpoint: the checkpoint (or SavedModel) it was loaded from.
    """

    def __init__(self, name, run_dir):
        self.name, self.run_dir = name, run_dir
        self.description = "%s, from %s" % (name, run_dir)  # load() says more: describe()
        self.graph = tf.Graph()
        self.session = tf.Session(graph=self.graph)
        self.images = self.probabilities_op = self.logits_op = self.checkpoint = None

    @classmethod
    def from_checkpoint(cls, inference, run_dir, name=None, finalize=True):
        """inference (images [batch, 784] -> logits) rebuilt, with run_dir's last checkpoint
        (finalize=False: the graph stays open, for export.write to add its saver)."""
        predictor = cls(name, run_dir)
        with predictor.graph.as_default():
            predictor.images = tf.placeholder(tf.float32, [None, 784], name="images")
            predictor.logits_op = inference(predictor.images)
            predictor.probabilities_op = tf.nn.softmax(predictor.logits_op, name="probabilities")
            tf.argmax(predictor.logits_op, axis=1, name="classes")  # for a SavedModel
            predictor.checkpoint = restoring.restore(predictor.session, tf.train.Saver(),
                                                       run_dir, tf.global_variables())
        if finalize:
            predictor.graph.finalize()
        return predictor

    @classmethod
    def from_saved_model(cls, export_dir, name=None):
        """The SavedModel in export_dir, with its serving signature (export.SIGNATURE)."""
        model_file = os.path.join(export_dir, "saved_model.pb")
        try:  # TensorFlow would wait on a pipe for ever, and read any file whole
            restoring.check_regular_file(model_file, SAVED_MODEL_BYTES)
        except OSError as e:
            raise UsageError("cannot load the SavedModel in %s: %s: %s" % (
                export_dir, model_file, e.strerror or e))
        predictor = cls(name, export_dir)
        try:
            meta_graph = tf.saved_model.loader.load(
                predictor.session, [tf.saved_model.tag_constants.SERVING], export_dir)
        except (RuntimeError, OSError, ValueError, tf.errors.OpError) as e:
            raise UsageError("cannot load the SavedModel in %s: %s" % (export_dir,
                                                                        error_reason(e)))
        signature = _checked_signature(meta_graph, export_dir)
        predictor.images = predictor.graph.get_tensor_by_name(signature.inputs["images"].name)
        predictor.probabilities_op = predictor.graph.get_tensor_by_name(
            signature.outputs["probabilities"].name)
        predictor.checkpoint = export_dir
        predictor.graph.finalize()
        return predictor

    def _run(self, output, images, batch_size):
        return np.concatenate(in_batches(lambda start, stop: self.session.run(
            output, {self.images: images[start:stop]}), len(images), batch_size)
            or [np.zeros((0, 10), np.float32)])

    def probabilities(self, images, batch_size=BATCH_SIZE):
        """float32 [N, 10] for images float32 [N, 784] in [0, 1]; a UsageError where the
        model answers rows that are not a distribution over the 10 digits (NaN, say)."""
        probabilities = self._run(self.probabilities_op, images, batch_size)
        if not (np.isfinite(probabilities).all() and (probabilities >= 0).all()
                and np.allclose(probabilities.sum(axis=1), 1, atol=1e-3)):
            raise UsageError("the model in %s answers what is not a probability for each of "
                             "the 10 digits (NaN, negative, or not summing to 1)"
                             % self.run_dir)
        return probabilities

    def logits(self, images, batch_size=BATCH_SIZE):
        """float32 [N, 10] logits (a model rebuilt from a checkpoint only)."""
        return self._run(self.logits_op, images, batch_size)

    def close(self):
        self.session.close()
