"""Softmax regression on MNIST: y = softmax(xW + b), trained by gradient descent.

The first model of TensorFlow's MNIST tutorial, in graph mode: placeholders for the data,
variables for the parameters, and a Session that runs one mini-batch step per feed.
About 92.5% test accuracy in about ten seconds.

    python softmax_mnist.py [--epochs 10] [--learning-rate 1.0] [--help]
"""
from tfmnist import flags
from tfmnist.command_line import run_main
from tfmnist.evaluation import Classifier, Model, evaluation
from tfmnist.tf1 import tf  # tensorflow.compat.v1 in graph mode, with this project's settings
from tfmnist.training import Run

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10


# %% [markdown]
# ## The model
# Softmax regression gives each digit k a score, a weighted sum of the 784 pixels plus a bias:
# the logits, `xW + b`. The softmax turns the ten scores into probabilities,
# p_k = exp(logit_k) / (exp(logit_0) + ... + exp(logit_9)). Each column of W is a 28x28
# template of one digit: pixels that speak for it get positive weights, pixels that speak
# against it negative ones (the last picture below shows the ten).

# %%
def inference(x):
    """The model: logits = xW + b (the softmax itself is folded into the loss)."""
    with tf.name_scope("softmax_linear"):
        # Zeros are fine here: with no hidden layer there is no symmetry to break.
        W = tf.Variable(tf.zeros([IMAGE_PIXELS, NUM_CLASSES]), name="weights")
        b = tf.Variable(tf.zeros([NUM_CLASSES]), name="biases")
        return tf.matmul(x, W) + b


# %% [markdown]
# ## The loss
# Cross-entropy: minus the log of the probability the model gives the right digit, averaged
# over the batch. Written as the tutorial first wrote it, `-sum(y * log(softmax(logits)))`, it
# takes log(0) = -inf as soon as a probability rounds to zero, and the loss becomes NaN. The
# op used here computes the same value from the logits directly (log-sum-exp), where nothing
# rounds to zero.

# %%
def loss(logits, labels):
    """Mean cross-entropy between softmax(logits) and the labels."""
    # The tutorial's -reduce_sum(y_ * tf.log(tf.nn.softmax(logits))) takes log(0) = -inf once
    # a probability underflows, and 0 * -inf = NaN; this op works from the logits directly.
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


# %% [markdown]
# ## Training
# Gradient descent moves every weight a small step against its gradient, one mini-batch of 100
# images at a time. `global_step` counts the steps, and the learning rate falls with it, from
# 1.0 to zero: big steps first, then small ones that let the weights settle.

# %%
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


# %%
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


# %%
def build_parser():
    return flags.make_parser("softmax_mnist.py", __doc__, epochs=10, batch_size=100,
                             learning_rate=1.0, log_every=500)


# %% [markdown]
# ## The graph, then the session
# The graph is built once: placeholders for a batch of images and labels, the model, its loss
# and a training step. Then a `Session` runs the training step once per mini-batch, fed with
# `feed_dict`. The loop says *when* it logs, validates and saves; `Run` (in `tfmnist/`) keeps
# the bookkeeping: the run directory, checkpoints, the progress lines and TensorBoard's log.

# %%
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


# %%
if __name__ == "__main__":
    run_main(main, "softmax_mnist.py")
