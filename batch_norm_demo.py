"""Why batch normalization exists: a deep, badly initialised net, trained with and without it.

Seven tanh layers of 30 units whose weights start with standard deviation 1, far too large:
each layer's pre-activations grow, the tanh units saturate at -1 and 1, their gradients
vanish, and training crawls. The same net with batch normalization before each tanh keeps
every layer's pre-activations near mean 0 and variance 1, and trains at once. This script
trains both with mlp_mnist.py (same seed, same batches), then draws the distribution of each
layer's pre-activations on the validation images and the two loss curves.

    python batch_norm_demo.py [--epochs 2] [--depth 7] [--width 30] [--init-stddev 1]
"""
import argparse
import os
import numpy as np

import mlp_mnist
from tfmnist import flags, pictures, restoring, rundirs
from tfmnist.command_line import run_main
from tfmnist.tf1 import tf


def pre_activations(run_dir, images, args):
    """Each hidden layer's pre-activations [N, width] for `images`, as the trained net in
    run_dir computes them when evaluating."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, mlp_mnist.IMAGE_PIXELS])
        layers = mlp_mnist.parameters(args.hidden, args.init_stddev, args.batch_norm)
        _, values = mlp_mnist.forward(layers, x, activation=args.activation)
        with tf.Session() as sess:
            restoring.restore(sess, tf.train.Saver(), run_dir, tf.global_variables())
            return sess.run(values, feed_dict={x: images})


MAX_DEPTH = 100  # far deeper than the point the demo makes; bounds the graph's size and time
layer_count = flags.number(int, lambda v: 1 <= v <= MAX_DEPTH,
                           "a number of layers from 1 to %d" % MAX_DEPTH)


def build_parser():
    parser = argparse.ArgumentParser(prog="batch_norm_demo.py",
                                     description=flags.description(__doc__),
                                     formatter_class=flags.HelpFormatter)
    parser.add_argument("--depth", type=layer_count, default=7,
                        help="hidden layers (1 to %d)" % MAX_DEPTH)
    parser.add_argument("--width", type=flags.positive_int, default=30,
                        help="units in each hidden layer")
    parser.add_argument("--activation", choices=mlp_mnist.ACTIVATIONS, default="tanh")
    parser.add_argument("--init-stddev", type=flags.positive_float, default=1.0,
                        help="the initial weights' standard deviation")
    parser.add_argument("--epochs", type=flags.positive_float, default=2.0)
    parser.add_argument("--learning-rate", type=flags.positive_float, default=0.01)
    parser.add_argument("--batch-size", type=flags.positive_int, default=100)
    parser.add_argument("--data-dir", default=None, help="as for the training scripts")
    parser.add_argument("--validation-size", type=flags.positive_int, default=5000,
                        help="the validation images, on which the pre-activations are drawn "
                             "(at least 1)")
    parser.add_argument("--run-dir", default=None,
                        help="where the two runs and the pictures go (default: the next "
                             "number in runs/batch_norm_demo/)")
    return parser


def main(argv=None):
    """Trains the two nets; returns {"without"/"with": their figures} and the picture paths."""
    args = build_parser().parse_args(argv)
    made = args.run_dir is None
    run_dir = args.run_dir or rundirs.new_numbered(rundirs.script_runs("batch_norm_demo.py"))
    try:
        return train_both(args, run_dir)
    except BaseException:
        if made and not os.listdir(run_dir):  # refused before anything was written
            os.rmdir(run_dir)
        raise


def train_both(args, run_dir):
    """Trains the two nets in run_dir; returns what main() returns."""
    common = ["--hidden", ",".join([str(args.width)] * args.depth),
              "--activation", args.activation, "--init-stddev", str(args.init_stddev),
              "--epochs", str(args.epochs), "--learning-rate", str(args.learning_rate),
              "--batch-size", str(args.batch_size), "--validation-size",
              str(args.validation_size), "--keep-prob", "1", "--log-every", "100"]
    if args.data_dir:
        common += ["--data-dir", args.data_dir]
    results, distributions, losses = {}, {}, {}
    for name, extra in (("without batch norm", []), ("with batch norm", ["--batch-norm"])):
        print("=== %s" % name, flush=True)
        run_flags = common + extra + ["--run-dir", os.path.join(run_dir, name.replace(" ", "_"))]
        results[name] = mlp_mnist.main(run_flags)
        trained = mlp_mnist.build_parser().parse_args(run_flags)
        validation = flags.load_data(trained).validation.images
        distributions[name] = pre_activations(results[name]["run_dir"], validation, trained)
        losses[name] = (np.arange(1, len(results[name]["losses"]) + 1),
                        pictures.smoothed(results[name]["losses"], 20))
    drawn = {
        "pre_activations": pictures.histograms(
            distributions, "each layer's pre-activations on the validation images after "
            "training:\n%d %s layers of %d, initial weights of standard deviation %g"
            % (args.depth, args.activation, args.width, args.init_stddev),
            shade=(-2, 2, "where %s is not saturated" % args.activation)
            if args.activation != "relu" else None),
        "loss_curves": pictures.curves(losses, "training loss (running mean of 20 steps)",
                                       "step", "cross-entropy", log_y=True)}
    paths = {}
    for name, png in drawn.items():
        paths[name] = os.path.join(run_dir, name + ".png")
        rundirs.write_atomically(paths[name], png)
    for name, result in results.items():
        spread = [float(np.std(layer)) for layer in distributions[name]]
        print("%s: validation accuracy %.4f, test accuracy %.4f; pre-activations' standard "
              "deviation by layer: %s" % (name, result["validation_accuracy"],
                                          result["test_accuracy"],
                                          " ".join("%.2f" % s for s in spread)))
    print("pictures: %s" % ", ".join(paths.values()))
    return {"results": results, "pictures": paths, "distributions": distributions}


if __name__ == "__main__":
    run_main(main, "batch_norm_demo.py")
