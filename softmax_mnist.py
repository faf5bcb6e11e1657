"""Softmax regression on MNIST: y = softmax(xW + b), trained by gradient descent.

The first model of TensorFlow's MNIST tutorial, in graph mode: placeholders for the data,
variables for the parameters, and a Session that runs one mini-batch step per feed.
About 92.5% test accuracy in about ten seconds.

    python softmax_mnist.py [--epochs 10] [--learning-rate 1.0] [--help]
"""
import sys

import mnist_common
from tf1 import tf  # tensorflow.compat.v1 in graph mode, with this project's settings

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10


def inference(x):
    """The model: logits = xW + b (the softmax itself is folded into the loss)."""
    with tf.name_scope("softmax_linear"):
        # Zeros are fine here: with no hidden layer there is no symmetry to break.
        W = tf.Variable(tf.zeros([IMAGE_PIXELS, NUM_CLASSES]), name="weights")
        b = tf.Variable(tf.zeros([NUM_CLASSES]), name="biases")
        return tf.matmul(x, W) + b


def loss(logits, labels):
    """Mean cross-entropy between softmax(logits) and the labels."""
    # The tutorial's -reduce_sum(y_ * tf.log(tf.nn.softmax(logits))) takes log(0) = -inf once
    # a probability underflows, and 0 * -inf = NaN; this op works from the logits directly.
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def training(loss_op, initial_learning_rate, total_steps):
    """Returns (train_step, learning_rate): one gradient-descent step, counted in global_step.

    The rate decays linearly to zero: with a constant one the weights keep jumping around the
    minimum (test accuracy stays near 92.2%); a shrinking step lets them settle in it.
    """
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.polynomial_decay(initial_learning_rate, global_step, total_steps,
                                              end_learning_rate=0.0, power=1.0)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    return optimizer.minimize(loss_op, global_step=global_step), learning_rate


def build_parser():
    return mnist_common.make_parser(__file__, __doc__.splitlines()[0], epochs=10,
                                    batch_size=100, learning_rate=1.0, log_every=500)


def main(argv=None):
    """Trains and evaluates; returns the figures (test_accuracy, ...) as a dict."""
    args = mnist_common.parse_args(build_parser(), argv)
    mnist = mnist_common.load_data(args)

    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        x = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x")
        y_ = tf.placeholder(tf.int64, [None], name="y_")

        logits = inference(x)
        loss_op = loss(logits, y_)
        train_step, learning_rate = training(loss_op, args.learning_rate,
                                             mnist_common.total_steps(args, mnist))
        correct_count, accuracy = mnist_common.evaluation(logits, y_)

        with tf.Session(config=mnist_common.session_config(args)) as sess, \
                mnist_common.Run(args, sess, mnist,
                                 mnist_common.Classifier(x, y_, logits, correct_count),
                                 learning_rate=learning_rate) as run:
            epoch = mnist.train.epochs_completed
            for step in run.steps():  # from the restored global step (0 in a new run)
                batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                _, loss_value, batch_accuracy = sess.run(
                    [train_step, loss_op, accuracy],
                    feed_dict={x: batch_xs, y_: batch_ys})
                run.record(loss_value)
                last_step = step + 1 == run.total_steps
                if (step + 1) % args.log_every == 0 or last_step:
                    run.log_progress(step + 1, batch_accuracy)
                if mnist.train.epochs_completed > epoch or last_step:  # once per epoch
                    epoch = mnist.train.epochs_completed
                    run.validate(step + 1)
                    run.save(step + 1)
            return run.finish()


if __name__ == "__main__":
    mnist_common.run_main(main, sys.argv[0])
