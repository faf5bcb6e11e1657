"""Softmax regression on MNIST: y = softmax(xW + b), trained by gradient descent.

The first model of TensorFlow's MNIST tutorial, in graph mode: placeholders for the data,
variables for the parameters, and a Session that runs one mini-batch step per feed.
About 92.5% test accuracy in about ten seconds.

    python softmax_mnist.py [--epochs 10] [--learning-rate 1.0] [--help]
"""
import sys

from tfmnist import flags
from tfmnist.command_line import run_main
from tfmnist.evaluation import Classifier, Model, evaluation
from tfmnist.tf1 import tf  # tensorflow.compat.v1 in graph mode, with this project's settings
from tfmnist.training import Run

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


def training(loss_op, initial_learning_rate, total_steps, wrap_optimizer=None):
    """Returns (train_step, learning_rate): one gradient-descent step, counted in global_step.
    (wrap_optimizer: distributed_mnist.py's, for --sync-replicas; none here.)

    The rate decays linearly to zero: with a constant one the weights keep jumping around the
    minimum (test accuracy stays near 92.2%); a shrinking step lets them settle in it.
    """
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.polynomial_decay(initial_learning_rate, global_step, total_steps,
                                              end_learning_rate=0.0, power=1.0)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    if wrap_optimizer:
        optimizer = wrap_optimizer(optimizer)
    return optimizer.minimize(loss_op, global_step=global_step), learning_rate


def model(args, total_steps, wrap_optimizer=None):
    """The graph of a training step: placeholders, inference, loss, training, evaluation.
    Returns a Model; its feed(batch_xs, batch_ys, step) is a training step's feed_dict."""
    x = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x")
    y_ = tf.placeholder(tf.int64, [None], name="y_")
    logits = inference(x)
    loss_op = loss(logits, y_)
    train_step, learning_rate = training(loss_op, args.learning_rate, total_steps,
                                         wrap_optimizer)
    correct_count, accuracy = evaluation(logits, y_)
    return Model(train_step, loss_op, accuracy, learning_rate,
                 Classifier(x, y_, logits, correct_count),
                 feed=lambda batch_xs, batch_ys, step: {x: batch_xs, y_: batch_ys})


def build_parser():
    return flags.make_parser(__file__, __doc__, epochs=10, batch_size=100, learning_rate=1.0,
                             log_every=500)


def main(argv=None):
    """Trains and evaluates; returns the metrics (test_accuracy, ...) as a dict."""
    args = flags.parse_args(build_parser(), argv)
    mnist = flags.load_data(args)  # input_data.read_data_sets, with the flags checked

    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        m = model(args, flags.total_steps(args, mnist))

        with tf.Session(config=flags.session_config(args)) as sess, \
                Run(args, sess, mnist, m.evaluator, m.learning_rate) as run:
            if run.restoring:  # --resume or --eval-only: the run's last checkpoint
                run.restore()
            else:
                sess.run(tf.global_variables_initializer())
            for step in run.steps():  # 1, 2, ... from the step after the restored one
                batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                _, loss_value, batch_accuracy = sess.run(
                    [m.train_step, m.loss, m.accuracy], feed_dict=m.feed(batch_xs, batch_ys, step))
                run.record(loss_value)
                if run.log_due(step):  # every --log-every steps, and the last
                    run.log_progress(step, batch_accuracy)
                if run.epoch_ended(step):  # and the last step
                    run.validate(step)
                    run.save(step)
            metrics = run.finish()
    return metrics


if __name__ == "__main__":
    run_main(main, sys.argv[0])
