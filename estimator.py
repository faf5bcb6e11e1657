"""TF1's tf.estimator, the part the MNIST tutorials use, for TensorFlow 2.16 and newer, which
removed it: `Estimator(model_fn, model_dir, params)` with `train`, `evaluate` and `predict`,
`EstimatorSpec`, `ModeKeys` and `inputs.numpy_input_fn`. Like TF1's, it trains in a
`tf.train.MonitoredTrainingSession` (checkpoints in model_dir, the loss logged every 100 steps,
TensorBoard summaries, a stop on a NaN loss) and evaluates and predicts from the newest
checkpoint. It runs on TensorFlow 1.15 as well.

A tutorial written for tf.estimator runs with `import estimator` added to its imports and
`tf.estimator.` written `estimator.` (docs/porting.md):

    classifier = estimator.Estimator(model_fn=cnn_model_fn, model_dir="/tmp/mnist_convnet_model")
    train_input_fn = estimator.inputs.numpy_input_fn(
        x={"x": train_data}, y=train_labels, batch_size=100, num_epochs=None, shuffle=True)
    classifier.train(input_fn=train_input_fn, steps=20000)
"""
import collections
import inspect
import os
import tempfile
import types

import numpy as np
import tensorflow.compat.v1 as tf


class ModeKeys:
    """The mode a model_fn is called in (TF1's values)."""
    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


class EstimatorSpec(collections.namedtuple("EstimatorSpec", [
        "mode", "predictions", "loss", "train_op", "eval_metric_ops", "export_outputs",
        "training_hooks", "evaluation_hooks", "prediction_hooks"])):
    """What a model_fn returns: for TRAIN a loss and a train_op, for EVAL a loss (and
    eval_metric_ops, each a tf.metrics (value, update_op) pair), for PREDICT predictions."""

    def __new__(cls, mode, predictions=None, loss=None, train_op=None, eval_metric_ops=None,
                export_outputs=None, training_hooks=None, evaluation_hooks=None,
                prediction_hooks=None):
        # TF1's own messages, raised where the model_fn returns, not later in a session.
        if mode == ModeKeys.TRAIN and train_op is None:
            raise ValueError("Missing train_op.")
        if mode != ModeKeys.PREDICT and loss is None:
            raise ValueError("Missing loss.")
        if mode == ModeKeys.PREDICT and predictions is None:
            raise ValueError("Missing predictions.")
        return super().__new__(cls, mode, predictions, loss, train_op, eval_metric_ops or {},
                               export_outputs, list(training_hooks or []),
                               list(evaluation_hooks or []), list(prediction_hooks or []))


def numpy_input_fn(x, y=None, batch_size=128, num_epochs=1, shuffle=None, queue_capacity=1000,
                   num_threads=1):
    """An input_fn that feeds NumPy arrays in batches: x an array or a dict of arrays, y the
    labels. num_epochs=None repeats for ever, its batches running on across epochs; otherwise
    the last batch may be smaller. Shuffled from the graph's seed (`tf.set_random_seed`) when
    there is one. queue_capacity and num_threads are TF1's, accepted and not needed here."""
    if not isinstance(shuffle, bool):
        raise ValueError("shuffle must be provided explicitly as a bool, it is %r" % (shuffle,))

    def each(function, of_x):  # x is one array, or a dict of them
        return ({key: function(value) for key, value in of_x.items()}
                if isinstance(of_x, dict) else function(of_x))

    features = each(np.asarray, x)
    y = None if y is None else np.asarray(y)
    arrays = (list(features.values()) if isinstance(features, dict) else [features]) \
        + ([] if y is None else [y])
    length = len(arrays[0])
    if any(len(array) != length for array in arrays):
        raise ValueError("Length of tensors in x and y is mismatched: %s"
                         % [len(array) for array in arrays])

    def take(indices):
        taken = each(lambda array: array[indices], features)
        return taken if y is None else (taken, y[indices])

    def input_fn():
        seed = tf.get_default_graph().seed  # read as the graph is built

        def batches():
            rng = np.random.default_rng(seed)
            epochs = 0
            pending = np.zeros(0, dtype=np.int64)
            while num_epochs is None or epochs < num_epochs:
                order = rng.permutation(length) if shuffle else np.arange(length)
                pending, epochs = np.concatenate([pending, order]), epochs + 1
                while len(pending) >= batch_size:
                    yield take(pending[:batch_size])
                    pending = pending[batch_size:]
            if len(pending):
                yield take(pending)

        def structure(of_array):
            of_x = each(of_array, features)
            return of_x if y is None else (of_x, of_array(y))

        dataset = tf.data.Dataset.from_generator(
            batches, output_types=structure(lambda array: tf.as_dtype(array.dtype)),
            output_shapes=structure(lambda array: tf.TensorShape([None, *array.shape[1:]])))
        return tf.data.make_one_shot_iterator(dataset.prefetch(2)).get_next()
    return input_fn


inputs = types.SimpleNamespace(numpy_input_fn=numpy_input_fn)


class Estimator:
    """A model_fn trained, evaluated and asked for predictions, with its checkpoints in
    model_dir (a new temporary directory when none is given)."""

    def __init__(self, model_fn, model_dir=None, params=None):
        if model_dir is None:
            model_dir = tempfile.mkdtemp()
            tf.logging.warning("Using temporary folder as model directory: %s", model_dir)
        self._model_fn = model_fn
        self.model_dir = model_dir
        self.params = dict(params or {})

    def train(self, input_fn, hooks=None, steps=None, max_steps=None):
        """Trains until input_fn runs out, for `steps` more steps, or up to global step
        `max_steps`; starts from model_dir's newest checkpoint when there is one."""
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if max_steps is not None and self.latest_step() >= max_steps:
            tf.logging.info("Skipping training since max_steps has already saved.")
            return self
        with tf.Graph().as_default():
            global_step = tf.train.get_or_create_global_step()
            spec = self._model(input_fn, ModeKeys.TRAIN)
            tf.summary.scalar("loss", spec.loss)
            stop = [tf.train.StopAtStepHook(num_steps=steps, last_step=max_steps)] \
                if steps is not None or max_steps is not None else []
            logging = tf.train.LoggingTensorHook(
                {"loss": spec.loss, "step": global_step}, every_n_iter=100,
                formatter=lambda values: "loss = %s, step = %s" % (values["loss"], values["step"]))
            loss = None
            with tf.train.MonitoredTrainingSession(
                    checkpoint_dir=self.model_dir,
                    hooks=stop + [tf.train.NanTensorHook(spec.loss), logging]
                    + list(hooks or []) + spec.training_hooks) as session:
                while not session.should_stop():
                    _, loss = session.run([spec.train_op, spec.loss])
            tf.logging.info("Loss for final step: %s.", loss)
        return self

    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None):
        """The model_fn's eval_metric_ops, its mean loss and the global step, over input_fn
        (or its first `steps` batches), from model_dir's newest checkpoint; written for
        TensorBoard in model_dir/eval (eval_NAME)."""
        checkpoint_path = _trained(self.model_dir, checkpoint_path)
        with tf.Graph().as_default():
            global_step = tf.train.get_or_create_global_step()
            spec = self._model(input_fn, ModeKeys.EVAL)
            metrics = dict(spec.eval_metric_ops, loss=tf.metrics.mean(spec.loss))
            final = tf.train.FinalOpsHook(dict(
                {key: value for key, (value, _) in metrics.items()}, global_step=global_step))
            updates = [update for _, update in metrics.values()]
            tf.logging.info("Starting evaluation, from %s", checkpoint_path)
            evaluated = 0
            with tf.train.MonitoredSession(
                    tf.train.ChiefSessionCreator(checkpoint_filename_with_path=checkpoint_path),
                    hooks=list(hooks or []) + spec.evaluation_hooks + [final]) as session:
                while not session.should_stop() and (steps is None or evaluated < steps):
                    session.run(updates)
                    evaluated += 1
        results = final.final_ops_values
        tf.logging.info("Saving dict for global step %d: %s", results["global_step"],
                        ", ".join("%s = %s" % item for item in sorted(results.items())))
        writer = tf.summary.FileWriter(
            os.path.join(self.model_dir, "eval" if name is None else "eval_" + name))
        writer.add_summary(tf.Summary(value=[
            tf.Summary.Value(tag=key, simple_value=float(value))
            for key, value in results.items() if key != "global_step" and np.ndim(value) == 0]),
            results["global_step"])
        writer.close()
        return results

    def predict(self, input_fn, predict_keys=None, hooks=None, checkpoint_path=None,
                yield_single_examples=True):
        """Yields the model_fn's predictions for what input_fn gives, one example at a time
        (a dict for each when predictions is a dict), from model_dir's newest checkpoint."""
        checkpoint_path = _trained(self.model_dir, checkpoint_path)
        with tf.Graph().as_default():
            tf.train.get_or_create_global_step()
            spec = self._model(input_fn, ModeKeys.PREDICT)
            predictions = spec.predictions
            if predict_keys is not None:
                predictions = {key: predictions[key] for key in predict_keys}
            with tf.train.MonitoredSession(
                    tf.train.ChiefSessionCreator(checkpoint_filename_with_path=checkpoint_path),
                    hooks=list(hooks or []) + spec.prediction_hooks) as session:
                while not session.should_stop():
                    batch = session.run(predictions)  # the end of the input ends the session
                    if not yield_single_examples:
                        yield batch
                    elif isinstance(batch, dict):
                        for index in range(len(next(iter(batch.values())))):
                            yield {key: value[index] for key, value in batch.items()}
                    else:
                        yield from batch

    def latest_step(self):
        """The global step of model_dir's newest checkpoint, 0 when it has none."""
        checkpoint = tf.train.latest_checkpoint(self.model_dir)
        return 0 if checkpoint is None else \
            int(tf.train.load_variable(checkpoint, tf.GraphKeys.GLOBAL_STEP))

    def _model(self, input_fn, mode):
        """The model_fn's EstimatorSpec for what input_fn gives (a (features, labels) pair,
        features alone, or a tf.data.Dataset of either), in the current graph."""
        given = input_fn()
        if isinstance(given, tf.data.Dataset):
            given = tf.data.make_one_shot_iterator(given).get_next()
        features, labels = given if isinstance(given, (tuple, list)) else (given, None)
        wanted = inspect.signature(self._model_fn).parameters
        arguments = {"labels": None if mode == ModeKeys.PREDICT else labels, "mode": mode,
                     "params": self.params}
        spec = self._model_fn(features, **{key: value for key, value in arguments.items()
                                           if key in wanted})
        if not isinstance(spec, EstimatorSpec):
            raise ValueError("model_fn should return an EstimatorSpec, it returned %r" % (spec,))
        return spec


def _trained(model_dir, checkpoint_path=None):
    """checkpoint_path, or model_dir's newest checkpoint: the one evaluated or asked."""
    checkpoint_path = checkpoint_path or tf.train.latest_checkpoint(model_dir)
    if checkpoint_path is None:
        raise ValueError("Could not find trained model in model_dir: %s." % model_dir)
    return checkpoint_path
