"""A multi-layer perceptron on MNIST: 784 -> 256 -> 128 -> 10 with ReLU, in graph mode, and
in TensorFlow 2's eager style.

The tutorials' step between softmax regression and the CNN, and the first model people
write in TF2 style. The same network, the same batches, the same optimizer:
    python mlp_mnist.py                 # graph mode: placeholders, a Session, feed_dict
    python mlp_mnist.py --eager         # eager: tf.GradientTape, the step in tf.function
    python mlp_mnist.py --batch-norm    # batch normalization before each ReLU
    python mlp_mnist.py --loss mse      # squared error and plain gradient descent
"""
import argparse
import numpy as np

from tfmnist import flags
from tfmnist.command_line import run_main
from tfmnist.evaluation import Classifier, Model, evaluation, in_batches
from tfmnist.tf1 import eager_mode, tf
from tfmnist.training import Run

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10
BATCH_NORM_DECAY = 0.99  # of the moving averages: about the last 100 batches count
BATCH_NORM_EPSILON = 1e-3
DEFAULT_LEARNING_RATES = {"xent": 1e-3, "mse": 5.0}  # by --loss, each chosen on validation
MODEL_FLAGS = ("hidden", "activation", "batch_norm")  # the flags that shape inference()
ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid}


# %%
def sizes(text):
    """An argparse type for --hidden: comma-separated layer sizes, such as 256,128."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 100_000 for v in values):
        raise argparse.ArgumentTypeError("%r is not a list of layer sizes such as 256,128" % text)
    return values


# %% [markdown]
# ## Hidden layers
# A multi-layer perceptron puts layers of units between the pixels and the logits: each unit
# computes a weighted sum of the layer below and passes it through a ReLU, max(0, z). Without
# that bend, two layers would collapse into one linear map; with it, the network can carve the
# space of images into regions. Weights start random (variance 2 / fan-in, He's rule for ReLU),
# so that the units differ and the activations keep their scale from layer to layer.

# %%
def parameters(hidden_sizes=(256, 128), init_stddev=0.0, batch_norm=False):
    """Creates the network's variables: a dict per layer.

    A hidden layer has weights and biases, or with batch norm weights, a scale gamma, an
    offset beta (which does the biases' job) and the moving averages of its batches' means
    and variances. init_stddev 0 draws weights with variance 2 / fan-in (He, for ReLU).
    """
    sizes = [IMAGE_PIXELS, *hidden_sizes, NUM_CLASSES]
    flags.check_model_size("--hidden %s" % ",".join(map(str, hidden_sizes)), sizes)
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        hidden = index < len(sizes) - 2
        with tf.name_scope("hidden%d" % (index + 1) if hidden else "softmax_linear"):
            stddev = init_stddev or (2.0 / fan_in) ** 0.5
            layer = {"weights": tf.Variable(tf.truncated_normal([fan_in, fan_out], stddev=stddev),
                                            name="weights")}
            if hidden and batch_norm:
                layer["gamma"] = tf.Variable(tf.ones([fan_out]), name="gamma")
                layer["beta"] = tf.Variable(tf.zeros([fan_out]), name="beta")
                layer["moving_mean"] = tf.Variable(tf.zeros([fan_out]), trainable=False,
                                                   name="moving_mean")
                layer["moving_variance"] = tf.Variable(tf.ones([fan_out]), trainable=False,
                                                       name="moving_variance")
            else:
                layer["biases"] = tf.Variable(tf.zeros([fan_out]), name="biases")
        layers.append(layer)
    return layers


# %%
def batch_normalization(z, layer, is_training):
    """Normalizes the pre-activations z [batch, units], then scales by gamma and adds beta.

    While training: by the batch's own mean and variance, and every such step also moves the
    moving averages toward them. While evaluating: by the moving averages, so that an
    example's answer never depends on the others in its batch.
    """
    batch_mean, batch_variance = tf.nn.moments(z, axes=[0])

    def with_batch_statistics():
        update_mean = tf.assign(layer["moving_mean"], BATCH_NORM_DECAY * layer["moving_mean"]
                                + (1 - BATCH_NORM_DECAY) * batch_mean)
        update_variance = tf.assign(layer["moving_variance"],
                                    BATCH_NORM_DECAY * layer["moving_variance"]
                                    + (1 - BATCH_NORM_DECAY) * batch_variance)
        with tf.control_dependencies([update_mean, update_variance]):  # run with the step
            return tf.identity(batch_mean), tf.identity(batch_variance)

    mean, variance = tf.cond(tf.convert_to_tensor(is_training), with_batch_statistics,
                             lambda: (layer["moving_mean"], layer["moving_variance"]))
    return tf.nn.batch_normalization(z, mean, variance, offset=layer["beta"],
                                     scale=layer["gamma"], variance_epsilon=BATCH_NORM_EPSILON)


# %% [markdown]
# ## Dropout
# While training, dropout keeps each hidden unit's output with probability `keep_prob` (and
# scales it by 1 / keep_prob) and sets it to zero otherwise: no unit can rely on one other
# being there, so the network learns redundant features, and overfits the 55,000 images less.
# At test time every unit is kept.

# %%
def forward(layers, x, keep_prob=1.0, is_training=False, activation="relu"):
    """The network on images x [batch, 784]: returns (logits, the pre-activations of each
    hidden layer, as they enter the activation function)."""
    h = x
    pre_activations = []
    for layer in layers[:-1]:
        z = tf.matmul(h, layer["weights"])
        z = batch_normalization(z, layer, is_training) if "gamma" in layer else z + layer["biases"]
        pre_activations.append(z)
        h = tf.nn.dropout(ACTIVATIONS[activation](z), rate=1.0 - keep_prob)
    return tf.matmul(h, layers[-1]["weights"]) + layers[-1]["biases"], pre_activations


# %%
def inference(x, hidden=(256, 128), activation="relu", batch_norm=False):
    """The model as a run's MODEL_FLAGS shape it, images [batch, 784] -> logits, evaluating:
    what --eval-only, classify.py and draw.py rebuild."""
    return forward(parameters(hidden, batch_norm=batch_norm), x, activation=activation)[0]


# %%
def loss(logits, labels, kind="xent"):
    """xent: the mean cross-entropy, from the logits (log(softmax) itself can reach log(0)).
    mse: the mean squared error between the softmax and the one-hot labels, as the TF2
    "forward pass" tutorials train."""
    if kind == "mse":
        one_hot = tf.one_hot(labels, NUM_CLASSES)
        return tf.reduce_mean(tf.square(tf.nn.softmax(logits) - one_hot))
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


# %% [markdown]
# ## Adam
# Adam scales each weight's step by a running estimate of its gradient's size, so that rarely
# moved weights and busy ones learn at a similar pace; it needs far less tuning of the rate
# than plain gradient descent for a network of this depth.

# %%
def optimizer_of(kind, learning_rate):
    """Adam for xent; for mse, plain gradient descent, as the TF2 tutorials train it."""
    if kind == "mse":
        return tf.train.GradientDescentOptimizer(learning_rate)
    return tf.train.AdamOptimizer(learning_rate)


# %%
def learning_rate_of(args, global_step, total_steps):
    """--learning-rate (by default, the one chosen for --loss), falling linearly to zero."""
    initial = args.learning_rate or DEFAULT_LEARNING_RATES[args.loss]
    return tf.train.polynomial_decay(initial, global_step, total_steps, end_learning_rate=0.0,
                                     power=1.0)


# %%
def model(args, total_steps, wrap_optimizer=None):
    """The graph of a training step: placeholders, the network, its loss and optimizer, and
    evaluation. Returns a Model; feed(batch_xs, batch_ys, step) is a step's feed_dict."""
    # The variables first, as initial_values() makes them for --eager: TensorFlow 1.15
    # draws a seeded variable's values from the number of ops made before it.
    layers = parameters(args.hidden, args.init_stddev, args.batch_norm)
    x = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="x")
    y_ = tf.placeholder(tf.int64, [None], name="y_")
    keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
    is_training = tf.placeholder_with_default(False, [], name="is_training")
    logits, _ = forward(layers, x, keep_prob, is_training, args.activation)
    loss_op = loss(logits, y_, args.loss)
    global_step = tf.train.get_or_create_global_step()
    learning_rate = learning_rate_of(args, global_step, total_steps)
    optimizer = optimizer_of(args.loss, learning_rate)
    if wrap_optimizer:  # distributed_mnist.py's, for --sync-replicas
        optimizer = wrap_optimizer(optimizer)
    train_step = optimizer.minimize(loss_op, global_step=global_step)
    correct_count, accuracy = evaluation(logits, y_)
    return Model(train_step, loss_op, accuracy, learning_rate,
                 Classifier(x, y_, logits, correct_count),
                 feed=lambda batch_xs, batch_ys, step: {x: batch_xs, y_: batch_ys,
                                                        keep_prob: args.keep_prob,
                                                        is_training: True})


# %%
def build_parser():
    parser = flags.make_parser("mlp_mnist.py", __doc__, epochs=20, batch_size=100,
                               learning_rate=None, model_flags=MODEL_FLAGS)
    parser.add_argument("--hidden", type=sizes, default=(256, 128),
                        help="the hidden layers' sizes, comma-separated")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                        help="the hidden layers' activation function")
    parser.add_argument("--init-stddev", type=flags.non_negative_float, default=0.0,
                        help="the initial weights' standard deviation (0: He, sqrt(2 / fan-in))")
    parser.add_argument("--keep-prob", type=flags.probability, default=0.8,
                        help="dropout: probability of keeping each hidden unit while training")
    parser.add_argument("--batch-norm", action="store_true",
                        help="batch normalization between each hidden matmul and activation")
    parser.add_argument("--loss", choices=("xent", "mse"), default="xent",
                        help="cross-entropy with Adam (--learning-rate 1e-3 unless given), or "
                             "squared error with gradient descent (5 unless given)")
    parser.add_argument("--eager", action="store_true",
                        help="train in TensorFlow 2's eager style (GradientTape, tf.function)")
    return parser


# %% [markdown]
# ## The loop
# The same loop as every lesson's: the graph is built once, then a `Session` runs a training
# step per mini-batch, fed with `feed_dict` (here with the dropout's `keep_prob`). `--eager`
# trains the same network in TensorFlow 2's eager style (`train_eager` below).

# %%
def main(argv=None):
    """Trains and evaluates; returns the figures (test_accuracy, ...) as a dict."""
    parser = build_parser()
    args = flags.parse_args(parser, argv)
    if args.eager and args.resume:
        # Its checkpoints hold the weights (for --eval-only and classify.py), not Adam's
        # moments, which TF1's optimizers make only at their first step in eager mode.
        parser.error("--resume continues graph-mode runs only; an --eager run starts afresh")
    mnist = flags.load_data(args)  # input_data.read_data_sets, with the flags checked
    if args.eager:
        return train_eager(args, mnist)

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
def initial_values(args):
    """The variables graph mode makes from --seed, as [{key: (name, initial value,
    trainable)}] per layer, so that eager mode starts from the same weights, by the same
    names (its checkpoints then fit graph mode's model)."""
    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        layers = parameters(args.hidden, args.init_stddev, args.batch_norm)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run(layers)
        return [{key: (variable.op.name, values[index][key], variable.trainable)
                 for key, variable in layer.items()} for index, layer in enumerate(layers)]


# %%
def train_eager(args, mnist):
    """The same network and loop in TensorFlow 2's style: no placeholders, no Session.

    A batch is an argument of train_step; tf.GradientTape records the forward pass and
    gives the gradients, which the same optimizer applies; tf.function traces train_step
    into a graph once, so each later call runs it as graph mode runs its train_step.
    """
    initial = initial_values(args)
    with eager_mode():
        tf.set_random_seed(args.seed)  # for dropout
        layers = [{key: tf.Variable(value, trainable=trainable, name=name)
                   for key, (name, value, trainable) in layer.items()} for layer in initial]
        variables = [v for layer in layers for v in layer.values() if v.trainable]
        global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        learning_rate = learning_rate_of(args, global_step, flags.total_steps(args, mnist))
        optimizer = optimizer_of(args.loss, learning_rate)

        @tf.function
        def train_step(images, labels):
            with tf.GradientTape() as tape:
                logits, _ = forward(layers, images, args.keep_prob, tf.constant(True),
                                    args.activation)
                loss_value = loss(logits, labels, args.loss)
            gradients = tape.gradient(loss_value, variables)
            optimizer.apply_gradients(zip(gradients, variables), global_step=global_step)
            correct = tf.equal(tf.argmax(logits, axis=1), labels)
            return loss_value, tf.reduce_mean(tf.cast(correct, tf.float32))

        @tf.function
        def logits_of(images):
            return forward(layers, images, 1.0, tf.constant(False), args.activation)[0]

        saved = [v for layer in layers for v in layer.values()] + [global_step]
        # No session: the variables hold their values from the start, and are read, not run.
        with Run(args, EagerSession(), mnist, EagerClassifier(logits_of), learning_rate,
                 variables=saved, global_step=global_step) as run:
            if run.restoring:  # --eval-only: the run's last checkpoint
                run.restore()
            for step in run.steps():
                batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                # MNIST's labels are uint8, as in TF1; a placeholder converts what it is fed,
                # a tf.function argument keeps its dtype, and the loss takes int32 or int64.
                loss_value, batch_accuracy = train_step(batch_xs, batch_ys.astype(np.int64))
                run.record(loss_value.numpy())
                if run.log_due(step):
                    run.log_progress(step, batch_accuracy.numpy())
                if run.epoch_ended(step):
                    run.validate(step)
                    run.save(step)
            metrics = run.finish()
    return metrics


# %%
class EagerSession:
    """What the training harness asks of a Session, in eager mode: a value is read, as
    tensor.numpy(), and there is no graph to show in TensorBoard."""
    graph = None

    def run(self, value):
        return (value() if callable(value) else value).numpy()  # a decaying rate is a function


# %%
class EagerClassifier(Classifier):
    """The accuracy of a function from images to logits, in batches, without placeholders."""

    def __init__(self, logits_of):
        super().__init__(None, None, logits_of, None)
        self.evaluated = None  # no tensor: --eval-only restores all it saved (no Adam state)

    def evaluate(self, sess, dataset):
        logits = np.concatenate(in_batches(lambda start, stop: self.logits(
            dataset.images[start:stop]).numpy(), dataset.num_examples))
        return float((logits.argmax(axis=1) == dataset.labels).mean()), logits


# %%
if __name__ == "__main__":
    run_main(main, "mlp_mnist.py")
