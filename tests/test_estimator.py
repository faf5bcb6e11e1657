"""estimator.py, the part of TF1's tf.estimator the tutorials use: trained, resumed, evaluated
and asked for predictions in-process, its input_fn's batches, its faults in TF1's words, and
(under TensorFlow 1.15) the same figures as TF1's own Estimator on the same model_fn."""
import shutil

import numpy as np
import pytest

import estimator
from tfmnist.tf1 import tf

EXAMPLES = 64


def examples():
    """64 examples of 8 features whose class (of 3) is the largest of three sums."""
    features = np.random.default_rng(0).normal(size=(EXAMPLES, 8)).astype(np.float32)
    labels = np.argmax(features @ np.kron(np.eye(3), np.ones((1, 3)))[:, :8].T, axis=1)
    return features, labels.astype(np.int32)


def softmax_model_fn(api=estimator):
    """A softmax regression from zeros (the same from run to run), as the tutorials write one,
    returning `api`'s EstimatorSpec."""
    def model_fn(features, labels, mode, params):
        weights = tf.Variable(tf.zeros([8, 3]))
        logits = tf.matmul(features["x"], weights) + tf.Variable(tf.zeros([3]))
        predictions = {"classes": tf.argmax(logits, axis=1),
                       "probabilities": tf.nn.softmax(logits, name="softmax_tensor")}
        if mode == api.ModeKeys.PREDICT:
            return api.EstimatorSpec(mode=mode, predictions=predictions)
        loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        if mode == api.ModeKeys.TRAIN:
            optimizer = tf.train.GradientDescentOptimizer(params["learning_rate"])
            train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
            return api.EstimatorSpec(mode=mode, loss=loss, train_op=train_op)
        accuracy = tf.metrics.accuracy(labels=labels, predictions=predictions["classes"])
        return api.EstimatorSpec(mode=mode, loss=loss, eval_metric_ops={"accuracy": accuracy})
    return model_fn


def input_fns(api=estimator):
    features, labels = examples()
    train = api.inputs.numpy_input_fn(x={"x": features}, y=labels, batch_size=24,
                                            num_epochs=None, shuffle=False)
    test = api.inputs.numpy_input_fn(x={"x": features}, y=labels, num_epochs=1,
                                           shuffle=False)
    predict = api.inputs.numpy_input_fn(x={"x": features}, num_epochs=1, shuffle=False)
    return train, test, predict


def test_trains_resumes_evaluates_and_predicts(tmp_path):
    train, test, predict = input_fns()
    classifier = estimator.Estimator(softmax_model_fn(), model_dir=str(tmp_path),
                                     params={"learning_rate": 0.5})
    classifier.train(train, steps=20)
    assert classifier.latest_step() == 20
    classifier.train(train, steps=10)  # from the checkpoint, as TF1's did
    assert classifier.latest_step() == 30
    classifier.train(train, max_steps=25)  # already past it: nothing to do
    assert classifier.latest_step() == 30

    results = classifier.evaluate(test)
    assert set(results) == {"accuracy", "loss", "global_step"}
    assert results["global_step"] == 30 and results["accuracy"] > 0.8
    assert classifier.evaluate(test, steps=1)["global_step"] == 30
    assert (tmp_path / "eval").is_dir()  # for TensorBoard, as TF1 wrote it

    predictions = list(classifier.predict(predict))
    assert len(predictions) == EXAMPLES
    assert set(predictions[0]) == {"classes", "probabilities"}
    assert predictions[0]["probabilities"].shape == (3,)
    accuracy = np.mean([p["classes"] for p in predictions] == examples()[1])
    assert accuracy == pytest.approx(results["accuracy"])
    assert list(classifier.predict(predict, predict_keys=["classes"]))[0].keys() == {"classes"}
    (batch,) = classifier.predict(predict, yield_single_examples=False)
    assert batch["classes"].shape == (EXAMPLES,)


def batches_of(input_fn, seed=None):
    with tf.Graph().as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        features, labels = input_fn()
        sizes, seen = [], []
        with tf.Session() as sess:
            while True:
                try:
                    batch_x, batch_y = sess.run([features["x"], labels])
                except tf.errors.OutOfRangeError:
                    return sizes, seen
                sizes.append(len(batch_y))
                seen += list(batch_x[:, 0])


def test_numpy_input_fn_gives_every_example_once_an_epoch():
    features, labels = examples()
    x = {"x": features[:25]}
    sizes, seen = batches_of(estimator.inputs.numpy_input_fn(
        x=x, y=labels[:25], batch_size=10, num_epochs=1, shuffle=False))
    assert sizes == [10, 10, 5] and seen == list(features[:25, 0])
    # Two epochs shuffled: full batches running on across the epoch's end, each example twice.
    sizes, seen = batches_of(estimator.inputs.numpy_input_fn(
        x=x, y=labels[:25], batch_size=10, num_epochs=2, shuffle=True), seed=1)
    assert sizes == [10] * 5 and sorted(seen) == sorted(list(features[:25, 0]) * 2)
    assert seen != list(features[:25, 0]) * 2
    # The graph's seed gives the same order each time.
    again = batches_of(estimator.inputs.numpy_input_fn(
        x=x, y=labels[:25], batch_size=10, num_epochs=2, shuffle=True), seed=1)
    assert again == (sizes, seen)


def test_faults_are_tf1s_errors(tmp_path):
    features, labels = examples()
    with pytest.raises(ValueError, match="shuffle must be provided explicitly"):
        estimator.inputs.numpy_input_fn(x={"x": features}, y=labels)
    with pytest.raises(ValueError, match="Length of tensors in x and y is mismatched"):
        estimator.inputs.numpy_input_fn(x={"x": features}, y=labels[:-1], shuffle=False)
    with pytest.raises(ValueError, match="Missing train_op"):
        estimator.EstimatorSpec(estimator.ModeKeys.TRAIN, loss=tf.constant(0.0))
    train, test, predict = input_fns()
    classifier = estimator.Estimator(softmax_model_fn(), model_dir=str(tmp_path / "model"),
                                     params={"learning_rate": 0.5})
    for call in (lambda: classifier.evaluate(test), lambda: next(classifier.predict(predict))):
        with pytest.raises(ValueError, match="Could not find trained model in model_dir"):
            call()
    with pytest.raises(ValueError, match="Can not provide both steps and max_steps"):
        classifier.train(train, steps=1, max_steps=1)
    diverging = estimator.Estimator(softmax_model_fn(), model_dir=str(tmp_path / "nan"),
                                    params={"learning_rate": float("nan")})
    with pytest.raises(tf.train.NanLossDuringTrainingError):
        diverging.train(train, steps=5)


@pytest.mark.skipif(not hasattr(tf, "estimator"), reason="TF1's own Estimator: TensorFlow 1.15")
def test_the_same_figures_as_tf1s_own_estimator(tmp_path):
    figures = []
    for name, api in (("ours", estimator), ("tf1s", tf.estimator)):
        train, test, predict = input_fns(api)
        classifier = api.Estimator(softmax_model_fn(api), str(tmp_path / name),
                                   params={"learning_rate": 0.5})
        classifier.train(train, steps=30)
        results = classifier.evaluate(test)
        classes = [p["classes"] for p in classifier.predict(predict)]
        figures.append((results["accuracy"], results["loss"], results["global_step"], classes))
    ours, theirs = figures
    assert ours[0] == theirs[0] and ours[2:] == theirs[2:]
    assert ours[1] == pytest.approx(theirs[1], rel=1e-5)


def test_the_other_tutorials_conventions():
    # aymericdamien's convolutional_network.py: no model_dir (a temporary one), the calls'
    # arguments by position, uint8 labels as input_data gives them, a tensor of classes as
    # the predictions; two graphs of one model_fn sharing weights by variable scope.
    features, labels = examples()

    def model_fn(features, labels, mode):
        def net(reuse):
            with tf.variable_scope("net", reuse=reuse):
                weights = tf.get_variable("w", [8, 3], initializer=tf.zeros_initializer())
                return tf.matmul(features["images"], weights)
        logits_train, logits_test = net(False), net(True)
        classes = tf.argmax(logits_test, axis=1)
        if mode == estimator.ModeKeys.PREDICT:
            return estimator.EstimatorSpec(mode, predictions=classes)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            logits=logits_train, labels=tf.cast(labels, dtype=tf.int32)))
        train_op = tf.train.GradientDescentOptimizer(0.5).minimize(
            loss, global_step=tf.train.get_global_step())
        return estimator.EstimatorSpec(mode=mode, predictions=classes, loss=loss,
                                       train_op=train_op, eval_metric_ops={
                                           "accuracy": tf.metrics.accuracy(labels, classes)})

    model = estimator.Estimator(model_fn)
    try:
        _train_evaluate_predict(model, features, labels)
    finally:
        shutil.rmtree(model.model_dir)  # TF1's temporary model directory, and ours


def _train_evaluate_predict(model, features, labels):
    uint8_labels = labels.astype(np.uint8)
    model.train(estimator.inputs.numpy_input_fn(
        x={"images": features}, y=uint8_labels, batch_size=16, num_epochs=None, shuffle=True),
        steps=30)
    results = model.evaluate(estimator.inputs.numpy_input_fn(
        x={"images": features}, y=uint8_labels, batch_size=16, shuffle=False))
    assert results["accuracy"] > 0.8 and results["global_step"] == 30
    classes = list(model.predict(estimator.inputs.numpy_input_fn(
        x={"images": features}, shuffle=False)))
    assert len(classes) == EXAMPLES and np.ndim(classes[0]) == 0
    assert np.mean(np.array(classes) == labels) == pytest.approx(results["accuracy"])
