"""An LSTM on MNIST that reads each image one row per time step: 28 steps of 28 pixels.

Each row is projected to 128 units, an LSTM cell of 128 units (forget bias 1.0) reads the 28
rows in turn, and its last hidden state gives the 10 logits. The cell is written from its
equations in lstm_cell(), and unrolled over the rows in the graph. For speed, a training
batch is read as independent chains of about 64 images each (see inference()), and its
images are moved by up to 2 pixels each way, at random (tfmnist/augment.py): it learns the
55,000 training images by heart in a few epochs otherwise.

    python rnn_mnist.py [--epochs 10] [--help]
"""
import numpy as np

from tfmnist import augment, flags
from tfmnist.augment import shifted
from tfmnist.command_line import run_main
from tfmnist.evaluation import Classifier, Model, evaluation
from tfmnist.tf1 import tf  # tensorflow.compat.v1 in graph mode, with this project's settings
from tfmnist.training import Run

NUM_STEPS = 28  # rows, read one per time step
ROW_PIXELS = 28  # inputs per time step
NUM_UNITS = 128
NUM_CLASSES = 10
IMAGES_PER_CHAIN = 64  # see inference(); measured fastest on 2 cores at batches 128 and 256
FORGET_BIAS = 1.0  # starts the forget gate near 1: remember by default, early in training


# %% [markdown]
# ## Reading rows
# A recurrent network reads a sequence one element at a time, carrying a state from one step
# to the next. Here an image is a sequence of 28 rows of 28 pixels: after the last row, the
# state has seen the whole digit, and a linear layer reads the answer from it.

# %%
def weight_variable(shape, name="weights"):
    """Glorot-uniform weights, which keep the variance of sums of inputs near 1."""
    return tf.Variable(tf.glorot_uniform_initializer()(shape), name=name)


# %%
def bias_variable(shape):
    return tf.Variable(tf.zeros(shape), name="biases")


# %% [markdown]
# ## The LSTM's gates
# A plain recurrent cell forgets what it saw many steps ago: its gradient shrinks at every
# step back. An LSTM keeps a separate cell state `c` that changes only by what its gates let
# through. From the row and the previous output, it computes four things: the input gate `i`
# (how much of the new candidate `g` to write), the forget gate `f` (how much of the old cell
# to keep), the output gate `o` (how much of the cell to show as `h`), and `g` itself. The
# cell state is then `f * c + i * g`: when `f` is near 1, what the top rows showed survives to
# the last row.

# %%
def lstm_cell(x_gates, h, c, W_h):
    """One LSTM step; returns the new hidden state h and cell state c.

    Args:
      x_gates: this step's input already multiplied by the input weights, plus the biases:
        [batch, 4 * units], the pre-activations of the input, forget and output gates and
        of the candidate, in that order.
      h, c: the previous hidden and cell states, [batch, units], or None before the first
        row: the state starts at zero, so the recurrent term and the kept cell f * c are
        zero, and are left out.
      W_h: the recurrent weights, [units, 4 * units].
    """
    gates = x_gates if h is None else x_gates + tf.matmul(h, W_h)
    i, f, o, g = tf.split(gates, 4, axis=1)
    i = tf.sigmoid(i)  # input gate: how much of the candidate to write
    f = tf.sigmoid(f + FORGET_BIAS)  # forget gate: how much of the old cell to keep
    o = tf.sigmoid(o)  # output gate: how much of the cell to show
    g = tf.tanh(g)  # candidate values
    c = i * g if c is None else f * c + i * g
    h = o * tf.tanh(c)
    return h, c


# %%
def chains_for(batch_size):
    """How many chains inference() reads a training batch of batch_size in: one per
    IMAGES_PER_CHAIN images."""
    return max(1, round(batch_size / IMAGES_PER_CHAIN))


# %%
def inference(x, chains=1):
    """The model: images [batch, 784] -> logits [batch, 10].

    chains: how many parts the batch is read in, each by its own copy of the unrolled cell
      (sharing its weights). The answers are the same for any number: only the speed
      differs.
    """
    # Step-major order: all images' first rows, then all their second rows, and so on. Each
    # step's rows are then one contiguous block, which tf.unstack hands out without copying.
    images = tf.reshape(x, [-1, NUM_STEPS, ROW_PIXELS])
    rows = tf.reshape(tf.transpose(images, [1, 0, 2]), [-1, ROW_PIXELS])  # [28 * batch, 28]
    with tf.name_scope("input_projection"):
        W_in = weight_variable([ROW_PIXELS, NUM_UNITS])
        b_in = bias_variable([NUM_UNITS])
    with tf.name_scope("lstm"):
        W_x = weight_variable([NUM_UNITS, 4 * NUM_UNITS], name="input_weights")
        W_h = weight_variable([NUM_UNITS, 4 * NUM_UNITS], name="recurrent_weights")
        b = bias_variable([4 * NUM_UNITS])
        # The projection (rows W_in + b_in) and the cell's input weights W_x are two linear
        # maps in a row, so every row's gate inputs are rows (W_in W_x) + (b_in W_x + b).
        # Multiplying the small matrices first and all 28 steps' rows at once, before the
        # loop, leaves only the recurrent h W_h inside it: the same model, at a third of
        # the cost.
        x_gates = tf.matmul(rows, tf.matmul(W_in, W_x)) + (tf.matmul(b_in[None], W_x) + b)
        x_gates = tf.reshape(x_gates, [NUM_STEPS, -1, 4 * NUM_UNITS])

        # The 28 steps run one after another, and one step's few small ops cannot keep two
        # cores busy. Independent chains, each reading some of the images, can: TensorFlow
        # runs ops that do not wait on each other at the same time. Chains split as evenly
        # as the batch allows; a batch of one image leaves the others empty.
        batch_size = tf.shape(x)[0]
        chain_sizes = [(batch_size + k) // chains for k in range(chains)]  # summing to batch
        last_states = []
        for x_gates_of_chain in tf.split(x_gates, tf.stack(chain_sizes), axis=1, num=chains):
            h = c = None  # the zero state, which lstm_cell() skips
            # One op splits out the 28 steps (slicing x_gates[step] 28 times would cost 28
            # full-size zero tensors in the backward pass).
            for x_gates_t in tf.unstack(x_gates_of_chain):  # unrolled: 28 cells per chain
                h, c = lstm_cell(x_gates_t, h, c, W_h)
            last_states.append(h)
        h = last_states[0] if chains == 1 else tf.concat(last_states, axis=0)
    with tf.name_scope("output"):
        W_out = weight_variable([NUM_UNITS, NUM_CLASSES])
        b_out = bias_variable([NUM_CLASSES])
        return tf.matmul(h, W_out) + b_out


# %%
def loss(logits, labels):
    """Mean cross-entropy, computed from the logits: log(softmax) itself can reach log(0)."""
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


# %% [markdown]
# ## Clipping
# A recurrent network's gradient can jump now and then by orders of magnitude; clipping its
# global norm keeps one such batch from throwing the weights far away.

# %%
def training(loss_op, initial_learning_rate, total_steps, clip_norm, wrap_optimizer=None):
    """Returns (train_step, learning_rate): one Adam step on clipped gradients.
    (wrap_optimizer: distributed_mnist.py's, for --sync-replicas; none here.)

    Clipping the gradients' global norm guards against the rare exploding step that
    recurrent networks take; the rate falls linearly to zero over the run.
    """
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.polynomial_decay(initial_learning_rate, global_step, total_steps,
                                              end_learning_rate=0.0, power=1.0)
    optimizer = tf.train.AdamOptimizer(learning_rate)
    if wrap_optimizer:
        optimizer = wrap_optimizer(optimizer)
    gradients, variables = zip(*optimizer.compute_gradients(loss_op))
    gradients, _ = tf.clip_by_global_norm(gradients, clip_norm)
    train_step = optimizer.apply_gradients(zip(gradients, variables), global_step=global_step)
    return train_step, learning_rate


# %%
def model(args, total_steps, wrap_optimizer=None):
    """The graph of a training step: placeholders, inference, loss, training, evaluation.
    Returns a Model; its feed(batch_xs, batch_ys, step) is a training step's feed_dict."""
    x = tf.placeholder(tf.float32, [None, NUM_STEPS * ROW_PIXELS], name="x")
    y_ = tf.placeholder(tf.int64, [None], name="y_")
    logits = inference(x, chains=chains_for(args.batch_size))
    loss_op = loss(logits, y_)
    train_step, learning_rate = training(loss_op, args.learning_rate, total_steps,
                                         args.clip_norm, wrap_optimizer)
    correct_count, accuracy = evaluation(logits, y_)

    def feed(batch_xs, batch_ys, step):
        # Shifts drawn from the step, so that --resume sees those of an unbroken run.
        rng = np.random.default_rng([args.seed, step])
        return {x: shifted(batch_xs, args.max_shift, rng), y_: batch_ys}
    return Model(train_step, loss_op, accuracy, learning_rate,
                 Classifier(x, y_, logits, correct_count), feed)


# %%
def build_parser():
    parser = flags.make_parser("rnn_mnist.py", __doc__, epochs=10, batch_size=256,
                               learning_rate=3e-3)
    parser.add_argument("--clip-norm", type=flags.positive_float, default=5.0,
                        help="gradients are scaled down to this global norm when above it")
    parser.add_argument("--max-shift", type=augment.pixel_shift, default=2,
                        help="training images are moved by up to this many pixels each way, "
                             "at random (0: as they are)")
    return parser


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
    run_main(main, "rnn_mnist.py")
