"""An autoencoder on MNIST: 784 -> 128 -> 64 -> 10 -> 2 -> 10 -> 64 -> 128 -> 784, trained on
the images alone, without their labels, to reproduce them through a code of two numbers.

It reports the test set's reconstruction error (mean squared, per pixel) and draws two
pictures in the run directory and TensorBoard: test digits above their reconstructions, and
the test set's codes as points coloured by label. The labels are used for the colours only,
yet the digits gather by class: the network found the classes by itself.

    python autoencoder_mnist.py [--code-size 2] [--epochs 20] [--help]
"""
import numpy as np

from tfmnist import flags, pictures
from tfmnist.command_line import run_main
from tfmnist.evaluation import Model, in_batches
from tfmnist.tf1 import tf
from tfmnist.training import Run

IMAGE_PIXELS = 28 * 28
ENCODER_SIZES = (128, 64, 10)  # the decoder mirrors them
PICTURE_DIGITS = 12  # test digits shown with their reconstructions


# %% [markdown]
# ## An autoencoder
# The encoder squeezes each image through layers of 128, 64 and 10 units into a code of two
# numbers; the decoder, its mirror image, rebuilds the 784 pixels from those two numbers alone.
# The loss is how far the rebuilt image is from the original, so no label is ever used: the
# network must find by itself what two numbers say most about a digit.

# %%
def dense(x, fan_out, activation=None):
    """A fully connected layer; weights with variance 2 / fan-in (He), as suits ReLU."""
    fan_in = int(x.shape[-1])
    weights = tf.Variable(tf.truncated_normal([fan_in, fan_out], stddev=(2.0 / fan_in) ** 0.5),
                          name="weights")
    biases = tf.Variable(tf.zeros([fan_out]), name="biases")
    z = tf.matmul(x, weights) + biases
    return z if activation is None else activation(z)


# %%
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


# %% [markdown]
# ## The loss, without labels
# The loss is the mean squared difference between each pixel and its reconstruction: the
# images are their own targets. The decoder's last layer is a sigmoid, so that every
# reconstructed pixel lies between 0 and 1, as MNIST's do.

# %%
def loss(reconstruction, x):
    """The mean squared error per pixel: the figure reported, minimised directly."""
    return tf.reduce_mean(tf.square(reconstruction - x))


# %%
def training(loss_op, initial_learning_rate, total_steps, wrap_optimizer=None):
    """Returns (train_step, learning_rate): Adam, at a rate falling linearly to zero.
    (wrap_optimizer: distributed_mnist.py's, for --sync-replicas; none here.)"""
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.polynomial_decay(initial_learning_rate, global_step, total_steps,
                                              end_learning_rate=0.0, power=1.0)
    optimizer = tf.train.AdamOptimizer(learning_rate)
    if wrap_optimizer:
        optimizer = wrap_optimizer(optimizer)
    return optimizer.minimize(loss_op, global_step=global_step), learning_rate


# %%
class Reconstruction:
    """What a run evaluates of the autoencoder: the mean squared error per pixel between the
    images and their reconstructions (x: the image placeholder; code: the codes; evaluated:
    the tensor it computes, whose variables --eval-only restores)."""
    metric, outputs = "reconstruction error", "reconstructions"

    def __init__(self, x, reconstruction, code):
        self.x, self.reconstruction, self.code = x, reconstruction, code
        self.evaluated = reconstruction

    def evaluate(self, sess, dataset):
        """(mean squared error per pixel, reconstructions) on every example of `dataset`."""
        reconstructions = np.concatenate(in_batches(lambda start, stop: sess.run(
            self.reconstruction, {self.x: dataset.images[start:stop]}),
            dataset.num_examples))
        return float(np.mean(np.square(reconstructions - dataset.images))), reconstructions

    def pictures(self, dataset, outputs):
        return []


# %% [markdown]
# ## The 2-D codes
# With two numbers per image, each test digit's code is a point in a plane. Coloured by the
# labels the network never saw, the points gather by digit: similar images get nearby codes,
# because only then can the decoder rebuild them well.

# %%
def draw_pictures(run, test, reconstructions, codes):
    """Draws the reconstructions and the codes into the run directory and TensorBoard."""
    shown = slice(0, PICTURE_DIGITS)
    run.add_picture("reconstructions", pictures.image_rows(
        [test.images[shown], reconstructions[shown]], ["test digit", "reconstructed"],
        "the first test digits, and as the autoencoder reproduces them from %d numbers"
        % codes.shape[1]))
    if codes.shape[1] == 1:  # one number: along x, with the labels apart along y
        points = np.column_stack([codes[:, 0], test.labels + np.random.default_rng(0).uniform(
            -0.3, 0.3, len(codes))])
        axes = ("code", "label (spread by a little noise)")
    elif codes.shape[1] == 2:
        points, axes = codes, ("code 1", "code 2")
    else:  # the plane in which the codes vary most: their first two principal components
        centred = codes - codes.mean(axis=0)
        points = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        axes = ("principal component 1", "principal component 2")
    run.add_picture("codes", pictures.scatter_by_label(
        points, test.labels, "the %d test digits' codes, coloured by label\n(the labels "
        "play no part in training)" % len(points), *axes))


# %%
def model(args, total_steps, wrap_optimizer=None):
    """The graph of a training step: the image placeholder, inference, loss and training.
    Returns a Model (no accuracy: no labels); feed(batch_xs, batch_ys, step) feeds the
    images alone. Its evaluator keeps the codes, for the pictures."""
    sizes = [max(size, args.code_size) for size in ENCODER_SIZES]
    flags.check_model_size("--code-size %d" % args.code_size, [
        IMAGE_PIXELS, *sizes, args.code_size, *sizes[::-1], IMAGE_PIXELS])
    x = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x")
    code, reconstruction = inference(x, args.code_size)
    loss_op = loss(reconstruction, x)
    train_step, learning_rate = training(loss_op, args.learning_rate, total_steps,
                                         wrap_optimizer)
    return Model(train_step, loss_op, None, learning_rate,
                 Reconstruction(x, reconstruction, code),
                 feed=lambda batch_xs, batch_ys, step: {x: batch_xs})


# %%
def build_parser():
    parser = flags.make_parser("autoencoder_mnist.py", __doc__, epochs=20, batch_size=100,
                               learning_rate=1e-3, exportable=False)
    parser.add_argument("--code-size", type=flags.positive_int, default=2,
                        help="numbers in the code between the encoder and the decoder")
    return parser


# %%
def main(argv=None):
    """Trains and evaluates; returns the figures (test_reconstruction_error, ...) as a dict."""
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
                batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)  # labels unused
                _, loss_value = sess.run([m.train_step, m.loss],
                                         feed_dict=m.feed(batch_xs, batch_ys, step))
                run.record(loss_value)
                if run.log_due(step):  # every --log-every steps, and the last
                    run.log_progress(step)
                if run.epoch_ended(step):  # and the last step
                    run.validate(step)
                    run.save(step)
            metrics = run.finish()
            codes = np.concatenate(in_batches(lambda start, stop: sess.run(
                m.evaluator.code, {m.evaluator.x: mnist.test.images[start:stop]}),
                mnist.test.num_examples))
            draw_pictures(run, mnist.test, metrics["test_reconstructions"], codes)
    return dict(metrics, test_codes=codes)


# %%
if __name__ == "__main__":
    run_main(main, "autoencoder_mnist.py")
