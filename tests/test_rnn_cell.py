"""rnn_mnist's LSTM cell and unrolled model against NumPy versions of the same equations, and\nthe shifted training images."""
import numpy as np

import rnn_mnist
from tfmnist import augment
from tfmnist.tf1 import tf


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm_cell(x_gates, h, c, W_h, forget_bias=1.0):
    """One LSTM step, straight from the equations (gate order: input, forget, output, candidate)."""
    z = x_gates + h @ W_h
    n = h.shape[1]
    i = sigmoid(z[:, :n])
    f = sigmoid(z[:, n:2 * n] + forget_bias)
    o = sigmoid(z[:, 2 * n:3 * n])
    g = np.tanh(z[:, 3 * n:])
    c = f * c + i * g
    return o * np.tanh(c), c


def test_one_step_matches_numpy():
    rng = np.random.default_rng(0)
    batch, units = 3, 5
    x_gates = rng.normal(size=(batch, 4 * units))
    h, c = rng.normal(size=(batch, units)), rng.normal(size=(batch, units))
    W_h = rng.normal(size=(units, 4 * units)) / np.sqrt(units)
    expected_h, expected_c = numpy_lstm_cell(x_gates, h, c, W_h)
    with tf.Graph().as_default(), tf.Session() as sess:
        got_h, got_c = sess.run(rnn_mnist.lstm_cell(
            *(tf.constant(a, tf.float32) for a in (x_gates, h, c, W_h))))
    np.testing.assert_allclose(got_h, expected_h, atol=1e-5)
    np.testing.assert_allclose(got_c, expected_c, atol=1e-5)


def test_first_step_without_state_is_the_step_from_zero_state():
    # lstm_cell() leaves out the recurrent term and the old cell when h and c are None.
    rng = np.random.default_rng(2)
    x_gates = rng.normal(size=(3, 20))
    W_h = rng.normal(size=(5, 20))
    expected_h, expected_c = numpy_lstm_cell(x_gates, np.zeros((3, 5)), np.zeros((3, 5)), W_h)
    with tf.Graph().as_default(), tf.Session() as sess:
        got_h, got_c = sess.run(rnn_mnist.lstm_cell(
            tf.constant(x_gates, tf.float32), None, None, tf.constant(W_h, tf.float32)))
    np.testing.assert_allclose(got_h, expected_h, atol=1e-5)
    np.testing.assert_allclose(got_c, expected_c, atol=1e-5)


def test_unrolled_model_matches_numpy_over_28_rows():
    images = np.random.default_rng(1).random((4, 28 * 28)).astype(np.float32)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        logits = rnn_mnist.inference(tf.constant(images))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(logits)
            weights = {v.op.name: sess.run(v) for v in tf.global_variables()}
    # The same model, step by step: each row projected, then the cell, 28 times.
    x_proj = images.reshape(4, 28, 28) @ weights["input_projection/weights"]
    x_proj += weights["input_projection/biases"]
    h = c = np.zeros((4, 128))
    for row in range(28):
        x_gates = x_proj[:, row] @ weights["lstm/input_weights"] + weights["lstm/biases"]
        h, c = numpy_lstm_cell(x_gates, h, c, weights["lstm/recurrent_weights"])
    expected = h @ weights["output/weights"] + weights["output/biases"]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_chains_read_the_batch_with_the_same_answers():
    # Training reads a batch as several chains (inference(x, chains)) for speed; the model is
    # the same: each image's answer, its gradients, and the variables do not change.
    images = np.random.default_rng(2).random((2, 28 * 28)).astype(np.float32)
    answers, weights = {}, None
    for chains in (1, 2):  # 2 chains for the one image of images[:1]: one reads nothing
        with tf.Graph().as_default():
            tf.set_random_seed(0)
            x = tf.placeholder(tf.float32, [None, 28 * 28])
            logits = rnn_mnist.inference(x, chains=chains)
            gradients = tf.gradients(tf.reduce_sum(logits ** 2), tf.trainable_variables())
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                # The same weights in both (TensorFlow 1.15 draws them from the graph's op
                # count, which the chains change).
                weights = weights or sess.run(tf.trainable_variables())
                for variable, value in zip(tf.trainable_variables(), weights):
                    variable.load(value, sess)
                answers[chains] = (
                    [v.op.name for v in tf.trainable_variables()],
                    sess.run(logits, {x: images}), sess.run(logits, {x: images[:1]}),
                    sess.run(gradients, {x: images}))
    names, logits_2, logits_1, gradients_2 = answers[1]
    for chains, (other_names, other_2, other_1, other_gradients) in answers.items():
        assert other_names == names
        np.testing.assert_allclose(other_2, logits_2, atol=1e-6)
        np.testing.assert_allclose(other_1, logits_1, atol=1e-6)
        for gradient, other in zip(gradients_2, other_gradients):
            np.testing.assert_allclose(other, gradient, rtol=1e-4, atol=1e-6)



def test_shifted_images_move_whole_by_at_most_max_shift():
    # Digits of ink in the middle 20x20 of their images, as MNIST's are: moved by up to 4
    # pixels, each is whole, where its shift puts it, and every shift is drawn.
    images = np.zeros((1000, 28, 28), np.float32)
    images[:, 4:24, 4:24] = np.random.default_rng(0).uniform(0.1, 1, (1000, 20, 20))
    for max_shift in (1, 2, 4):
        moved = augment.shifted(images.reshape(-1, 784), max_shift, np.random.default_rng(1))
        assert moved.shape == (1000, 784) and moved.dtype == np.float32
        moved = moved.reshape(-1, 28, 28)
        offsets = set()
        for image, moved_image in zip(images, moved):
            rows, columns = np.nonzero(moved_image)
            offset = (rows.min() - 4, columns.min() - 4)
            assert max(map(abs, offset)) <= max_shift
            np.testing.assert_array_equal(moved_image, np.roll(image, offset, (0, 1)))
            offsets.add(offset)
        assert len(offsets) == (2 * max_shift + 1) ** 2
    flat = images.reshape(-1, 784)
    assert augment.shifted(flat, 0, np.random.default_rng(1)) is flat


def _bar_angle(image):
    """The angle in degrees of an image's ink's long axis from the horizontal."""
    rows, columns = np.nonzero(image > 0.05)
    weights = image[rows, columns]
    covariance = np.cov(np.stack([columns, -rows]), aweights=weights)
    values, vectors = np.linalg.eigh(covariance)
    axis = vectors[:, np.argmax(values)]
    return np.degrees(np.arctan(axis[1] / axis[0]))


def test_turned_images_lean_by_at_most_max_turn_and_keep_their_ink():
    # A bar across the middle of each image: turned by up to 10 degrees, its long axis leans
    # by that much at most, both ways, and it keeps its ink (no corner of it is cut off).
    images = np.zeros((500, 28, 28), np.float32)
    images[:, 12:16, 6:22] = 1.0
    turned = augment.turned(images.reshape(-1, 784), 10, np.random.default_rng(1))
    assert turned.shape == (500, 784) and turned.dtype == np.float32
    angles = np.array([_bar_angle(image) for image in turned.reshape(-1, 28, 28)])
    assert np.abs(angles).max() <= 10.5
    assert angles.min() < -8 and angles.max() > 8  # both ways, the whole range drawn
    np.testing.assert_allclose(turned.sum(axis=1), images.sum(axis=(1, 2)), rtol=0.02)
    again = augment.turned(images.reshape(-1, 784), 10, np.random.default_rng(1))
    np.testing.assert_array_equal(turned, again)  # drawn from the generator alone
    flat = images.reshape(-1, 784)
    assert augment.turned(flat, 0, np.random.default_rng(1)) is flat
