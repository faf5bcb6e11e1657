"""Sharing weights between parts of a graph: tf.variable_scope, tf.get_variable and reuse.

An LSTM reads each digit row by row. The part of the graph that trains it reads all 28
rows; other parts, built in the same variable scope with reuse=True, share its very weights
to read only the first few rows: how soon does it know the digit? (Not soon: it learned to
answer after the last row, and reads 96% of the test digits from all 28 but about one in two
from 21, and chance or less from fewer.)

    python variable_scope_demo.py [--steps 600] [--rows 7,14,21,28]

The scopes, in short (tests/test_variable_scopes.py pins each):
- tf.name_scope("s") prefixes the names of ops and of tf.Variable()s: s/v.
- tf.variable_scope("s") prefixes both too, and also what tf.get_variable() makes, which
  ignores name scopes: tf.get_variable("v") inside tf.name_scope("s") is plain v.
- tf.variable_scope("s", reuse=True): tf.get_variable("v") returns the variable s/v made
  before, the same object; asking for one that was never made is an error.
"""
import argparse
import input_data
import rnn_mnist
from tfmnist import flags
from tfmnist.command_line import run_main
from tfmnist.evaluation import evaluation
from tfmnist.tf1 import tf

ROWS = 28
ROW_PIXELS = 28
NUM_UNITS = 64
NUM_CLASSES = 10


def reader(x, rows):
    """Logits from the first `rows` rows of images x [batch, 784], through the LSTM whose
    variables tf.get_variable makes in the current variable scope, or reuses there."""
    images = tf.reshape(x, [-1, ROWS, ROW_PIXELS])
    W_x = tf.get_variable("input_weights", [ROW_PIXELS, 4 * NUM_UNITS],
                          initializer=tf.glorot_uniform_initializer())
    W_h = tf.get_variable("recurrent_weights", [NUM_UNITS, 4 * NUM_UNITS],
                          initializer=tf.glorot_uniform_initializer())
    b = tf.get_variable("biases", [4 * NUM_UNITS], initializer=tf.zeros_initializer())
    W_out = tf.get_variable("output_weights", [NUM_UNITS, NUM_CLASSES],
                            initializer=tf.glorot_uniform_initializer())
    b_out = tf.get_variable("output_biases", [NUM_CLASSES], initializer=tf.zeros_initializer())
    h = c = None  # the zero state, which lstm_cell() skips
    for row in range(rows):  # rnn_mnist.py's cell, from its equations
        h, c = rnn_mnist.lstm_cell(tf.matmul(images[:, row], W_x) + b, h, c, W_h)
    return tf.matmul(h, W_out) + b_out


def rows_list(text):
    """An argparse type: row counts from 1 to 28, comma-separated."""
    try:
        values = sorted({int(part) for part in text.split(",")})
    except ValueError:
        values = []
    if not values or not all(1 <= v <= ROWS for v in values):
        raise argparse.ArgumentTypeError("%r is not a list of row counts from 1 to 28, such as "
                                         "7,14,28" % text)
    return values


def build_parser():
    parser = argparse.ArgumentParser(prog="variable_scope_demo.py",
                                     description=flags.description(__doc__),
                                     formatter_class=flags.HelpFormatter)
    parser.add_argument("--rows", type=rows_list, default=[7, 14, 21, 28],
                        help="how many first rows each reader sees")
    parser.add_argument("--steps", type=flags.positive_int, default=600,
                        help="training steps, reading all 28 rows")
    parser.add_argument("--batch-size", type=flags.positive_int, default=100)
    parser.add_argument("--learning-rate", type=flags.positive_float, default=3e-3)
    parser.add_argument("--seed", type=flags.seed_int, default=0)
    parser.add_argument("--data-dir", default=input_data.DEFAULT_DATA_DIR,
                        help="as for the training scripts")
    parser.add_argument("--validation-size", type=flags.non_negative_int, default=5000)
    return parser


def main(argv=None):
    """Trains the reader of all rows; returns {rows: test accuracy} of each reader, and the
    training graph's test logits beside those of the reader of 28 rows."""
    args = build_parser().parse_args(argv)
    try:
        mnist = input_data.read_data_sets(args.data_dir, validation_size=args.validation_size,
                                          seed=args.seed)
    except input_data.SplitError as e:
        build_parser().error("--validation-size: %s" % e)
    if args.batch_size > mnist.train.num_examples:
        build_parser().error("--batch-size %d is larger than the training set (%d examples)"
                             % (args.batch_size, mnist.train.num_examples))
    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        x = tf.placeholder(tf.float32, [None, ROWS * ROW_PIXELS], name="x")
        y_ = tf.placeholder(tf.int64, [None], name="y_")

        with tf.variable_scope("lstm"):  # makes lstm/input_weights, ...
            logits = reader(x, ROWS)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        train_step = tf.train.AdamOptimizer(args.learning_rate).minimize(loss)
        counts = {}
        for rows in args.rows:  # each with the same lstm/... variables, under its own ops
            with tf.name_scope("first_%d_rows" % rows), tf.variable_scope("lstm", reuse=True):
                counts[rows] = evaluation(reader(x, rows), y_)[0]
        print("variables: %s" % ", ".join(v.op.name for v in tf.trainable_variables()))

        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(1, args.steps + 1):
                batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                _, loss_value = sess.run([train_step, loss], {x: batch_xs, y_: batch_ys})
                if step % 100 == 0 or step == args.steps:
                    print("step %d/%d  loss %.4f" % (step, args.steps, loss_value), flush=True)
            test = mnist.test
            accuracies = {}
            for rows, count in counts.items():
                correct = sum(sess.run(count, {x: test.images[i:i + 1000],
                                               y_: test.labels[i:i + 1000]})
                              for i in range(0, test.num_examples, 1000))
                accuracies[rows] = correct / test.num_examples
                print("reading the first %2d rows: test accuracy %.4f" % (rows, accuracies[rows]))
            shared = {}
            if ROWS in args.rows:  # the training graph, and the reader of 28 rows
                with tf.name_scope("again"), tf.variable_scope("lstm", reuse=True):
                    again = reader(x, ROWS)
                shared = dict(zip(("training", "reused"), sess.run(
                    [logits, again], {x: test.images[:100]})))
    return {"accuracies": accuracies, "shared_logits": shared}


if __name__ == "__main__":
    run_main(main, "variable_scope_demo.py", trains=False)
