"""An autoencoder on MNIST: 784 -> 128 -> 64 -> 10 -> 2 -> 10 -> 64 -> 128 -> 784, trained on
the images alone, without their labels, to reproduce them through a code of two numbers.

It reports the test set's reconstruction error (mean squared, per pixel) and draws two
pictures in the run directory and TensorBoard: test digits above their reconstructions, and
the test set's codes as points coloured by label. The labels are used for the colours only,
yet the digits gather by class: the network found the classes by itself.

    python autoencoder_mnist.py [--code-size 2] [--epochs 20] [--help]
"""
import sys

import numpy as np

import mnist_common
import plots
from tf1 import tf

IMAGE_PIXELS = 28 * 28
ENCODER_SIZES = (128, 64, 10)  # the decoder mirrors them
PICTURE_DIGITS = 12  # test digits shown with their reconstructions


def dense(x, fan_out, activation=None):
    """A fully connected layer; weights with variance 2 / fan-in (He), as suits ReLU."""
    fan_in = int(x.shape[-1])
    weights = tf.Variable(tf.truncated_normal([fan_in, fan_out], stddev=(2.0 / fan_in) ** 0.5),
                          name="weights")
    biases = tf.Variable(tf.zeros([fan_out]), name="biases")
    z = tf.matmul(x, weights) + biases
    return z if activation is None else activation(z)


def inference(x, code_size=2):
    """The model: images [batch, 784] -> (codes [batch, code_size], reconstructions
    [batch, 784] in (0, 1)).

    A layer narrower than the code widens to it: the code stays the narrowest point.
    """
    sizes = [max(size, code_size) for size in ENCODER_SIZES]
    h = x
    with tf.name_scope("encoder"):
        for index, size in enumerate(sizes):
            with tf.name_scope("layer%d" % (index + 1)):
                h = dense(h, size, tf.nn.relu)
        with tf.name_scope("code"):  # linear: a code may take any value
            code = dense(h, code_size)
    h = code
    with tf.name_scope("decoder"):
        for index, size in enumerate(reversed(sizes)):
            with tf.name_scope("layer%d" % (index + 1)):
                h = dense(h, size, tf.nn.relu)
        with tf.name_scope("output"):  # a sigmoid: pixels lie in [0, 1]
            reconstruction = dense(h, IMAGE_PIXELS, tf.sigmoid)
    return code, reconstruction


def loss(reconstruction, x):
    """The mean squared error per pixel: the figure reported, minimised directly."""
    return tf.reduce_mean(tf.square(reconstruction - x))


def training(loss_op, initial_learning_rate, total_steps):
    """Returns (train_step, learning_rate): Adam, at a rate falling linearly to zero."""
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.polynomial_decay(initial_learning_rate, global_step, total_steps,
                                              end_learning_rate=0.0, power=1.0)
    optimizer = tf.train.AdamOptimizer(learning_rate)
    return optimizer.minimize(loss_op, global_step=global_step), learning_rate


def pictures(run, test, reconstructions, codes):
    """Draws the reconstructions and the codes into the run directory and TensorBoard."""
    shown = slice(0, PICTURE_DIGITS)
    run.add_picture("reconstructions", plots.image_rows(
        [test.images[shown], reconstructions[shown]], ["test digit", "reconstructed"],
        "the first test digits, and as the autoencoder reproduces them from %d numbers"
        % codes.shape[1]))
    if codes.shape[1] == 2:
        points, axes = codes, ("code 1", "code 2")
    else:  # the plane in which the codes vary most: their first two principal components
        centred = codes - codes.mean(axis=0)
        points = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        axes = ("principal component 1", "principal component 2")
    run.add_picture("codes", plots.scatter_by_label(
        points, test.labels, "the %d test digits' codes, coloured by label\n(the labels "
        "play no part in training)" % len(points), *axes))


def build_parser():
    parser = mnist_common.make_parser(__file__, __doc__.splitlines()[0], epochs=20,
                                      batch_size=100, learning_rate=1e-3)
    parser.add_argument("--code-size", type=mnist_common.positive_int, default=2,
                        help="numbers in the code between the encoder and the decoder")
    return parser


def main(argv=None):
    """Trains and evaluates; returns the figures (test_reconstruction_error, ...) as a dict."""
    args = mnist_common.parse_args(build_parser(), argv, schedule_flags=("code_size",))
    mnist = mnist_common.load_data(args)

    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        x = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x")

        code, reconstruction = inference(x, args.code_size)
        loss_op = loss(reconstruction, x)
        train_step, learning_rate = training(loss_op, args.learning_rate,
                                             mnist_common.total_steps(args, mnist))

        with tf.Session(config=mnist_common.session_config(args)) as sess, \
                mnist_common.Run(args, sess, mnist,
                                 mnist_common.Reconstruction(x, reconstruction),
                                 learning_rate=learning_rate) as run:
            epoch = mnist.train.epochs_completed
            for step in run.steps():  # from the restored global step (0 in a new run)
                batch_xs, _ = mnist.train.next_batch(args.batch_size)  # no labels
                _, loss_value = sess.run([train_step, loss_op], feed_dict={x: batch_xs})
                run.record(loss_value)
                last_step = step + 1 == run.total_steps
                if (step + 1) % args.log_every == 0 or last_step:
                    run.log_progress(step + 1)
                if mnist.train.epochs_completed > epoch or last_step:  # once per epoch
                    epoch = mnist.train.epochs_completed
                    run.validate(step + 1)
                    run.save(step + 1)
            result = run.finish()
            codes = mnist_common.run_in_batches(sess, code, x, mnist.test.images)
            pictures(run, mnist.test, result["test_reconstructions"], codes)
            return dict(result, test_codes=codes)


if __name__ == "__main__":
    mnist_common.run_main(main, sys.argv[0])
