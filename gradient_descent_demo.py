"""Gradient descent you can see: two parameters fitted by tf.train.GradientDescentOptimizer,
drawn with the data, the fit, and the path the parameters take over the cost surface.

Three cases, each a lesson:
    python gradient_descent_demo.py                        # (a) y = a*x + b: it converges
    python gradient_descent_demo.py --case local-minimum   # (b) y = b*sin(a*x): where it
                                                           #     starts decides where it ends
    python gradient_descent_demo.py --case too-large       # (c) the line at a rate too large:
                                                           #     each step overshoots, and more
"""
import argparse
import os
import numpy as np

from tfmnist import flags, pictures, rundirs
from tfmnist.command_line import UsageError, run_main
from tfmnist.tf1 import tf

NUM_POINTS = 80
NOISE = 0.1  # the standard deviation of the noise added to the data
# Each case: the model, the true parameters (a, b), the inputs' range, the starting points,
# the learning rate and the steps. The rates were chosen against the cost's curvature: the
# line's cost has curvature 2 along b, so a rate above 1.0 overshoots further at every step.
CASES = {
    "line": dict(model="line", true=(3.0, 1.0), x_range=(-1.0, 1.0), starts=[(-2.0, -2.5)],
                 learning_rate=0.2, steps=60),
    "local-minimum": dict(model="wave", true=(3.0, 1.0), x_range=(0.0, 3.0),
                          starts=[(1.0, 1.5), (2.3, 0.5)], learning_rate=0.1, steps=300),
    "too-large": dict(model="line", true=(3.0, 1.0), x_range=(-1.0, 1.0), starts=[(-2.0, -2.5)],
                      learning_rate=1.1, steps=12),
}


def model(x, a, b, kind):
    """The prediction for inputs x: a*x + b (line) or b*sin(a*x) (wave). Works on tensors of
    any shapes that broadcast, so the same formula draws the whole cost surface."""
    if kind == "line":
        return a * x + b
    return b * tf.sin(a * x)


def cost(prediction, y):
    """The mean squared error over the points (the last axis)."""
    return tf.reduce_mean(tf.square(prediction - y), axis=-1)


def data(case, seed):
    """(x, y): NUM_POINTS inputs evenly across the case's range, targets from the true
    parameters with Gaussian noise."""
    x = np.linspace(*case["x_range"], NUM_POINTS).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        clean = sess.run(model(tf.constant(x), *case["true"], case["model"]))
    noise = np.random.default_rng(seed).normal(0.0, NOISE, NUM_POINTS)
    return x, (clean + noise).astype(np.float32)


def descend(case, x_data, y_data, start, learning_rate, steps):
    """Runs gradient descent from `start`; returns the path [(a, b, cost)] of every step,
    the start first. It stops early, the path ending there, if the cost overflows."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        y = tf.placeholder(tf.float32, [None], name="y")
        a = tf.Variable(start[0], dtype=tf.float32, name="a")
        b = tf.Variable(start[1], dtype=tf.float32, name="b")
        cost_op = cost(model(x, a, b, case["model"]), y)
        train_step = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost_op)
        feed = {x: x_data, y: y_data}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = [tuple(sess.run([a, b, cost_op], feed))]
            for _ in range(steps):
                sess.run(train_step, feed)
                path.append(tuple(sess.run([a, b, cost_op], feed)))
                if not np.isfinite(path[-1]).all():
                    break
    return np.array(path, np.float64)


def cost_surface(case, x_data, y_data, a_range, b_range, size=120):
    """(a grid, b grid, cost [size, size]): the cost over a grid of parameters, computed by
    the same model() and cost() as the descent, all points at once."""
    a_grid, b_grid = np.meshgrid(np.linspace(*a_range, size), np.linspace(*b_range, size))
    with tf.Graph().as_default(), tf.Session() as sess:
        surface = sess.run(cost(model(tf.constant(x_data),
                                      tf.constant(a_grid[..., None], tf.float32),
                                      tf.constant(b_grid[..., None], tf.float32), case["model"]),
                                y_data))
    return a_grid, b_grid, surface


def build_parser():
    parser = argparse.ArgumentParser(prog="gradient_descent_demo.py",
                                     description=flags.description(__doc__),
                                     formatter_class=flags.HelpFormatter)
    parser.add_argument("--case", choices=CASES, default="line",
                        help="which lesson: a line fit, a local minimum, a rate too large")
    parser.add_argument("--learning-rate", type=flags.positive_float, default=None,
                        help="the step size (default: the case's)")
    parser.add_argument("--steps", type=flags.positive_int, default=None,
                        help="gradient steps (default: the case's)")
    parser.add_argument("--start", type=pair, action="append", default=None, metavar="A,B",
                        help="a starting point; give it again for several paths (default: "
                             "the case's)")
    parser.add_argument("--seed", type=flags.seed_int, default=0, help="seeds the noise")
    parser.add_argument("--run-dir", default=None,
                        help="where the picture goes (default: the next number in "
                             "runs/gradient_descent_demo/)")
    return parser


def pair(text):
    """An argparse type: two numbers, A,B."""
    try:
        a, b = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not two numbers such as 1.0,-2" % text)
    if not (np.isfinite(a) and np.isfinite(b) and abs(a) < 1e6 and abs(b) < 1e6):
        raise argparse.ArgumentTypeError("%r is not two numbers below 10^6" % text)
    return a, b


def main(argv=None):
    """Descends from each start; returns {"paths": [path], "picture": its path}."""
    args = build_parser().parse_args(argv)
    case = CASES[args.case]
    learning_rate = args.learning_rate or case["learning_rate"]
    steps = args.steps or case["steps"]
    x_data, y_data = data(case, args.seed)
    paths = []
    for start in args.start or case["starts"]:
        path = descend(case, x_data, y_data, start, learning_rate, steps)
        paths.append(path)
        a, b, final = path[-1]
        verdict = ("diverged: the cost overflowed at step %d" % (len(path) - 1)
                   if not np.isfinite(final) else
                   "diverging: the cost grew %.3g times" % (final / path[0, 2])
                   if final > path[0, 2] else "cost %.4f" % final)
        print("from a=%g, b=%g: after %d steps of %g, a=%.4f b=%.4f, %s" % (
            start[0], start[1], len(path) - 1, learning_rate, a, b, verdict))
    run_dir = args.run_dir or rundirs.new_numbered(
        rundirs.script_runs("gradient_descent_demo.py"))
    finite = np.concatenate([path[np.isfinite(path).all(axis=1)] for path in paths])
    a_range, b_range = (_around([*finite[:, i], case["true"][i]]) for i in (0, 1))
    picture = pictures.descent(
        x_data, y_data, [_fitted(case, x_data, path) for path in paths], paths,
        cost_surface(case, x_data, y_data, a_range, b_range),
        "%s: y = %s, learning rate %g" % (args.case, "a·x + b" if case["model"] == "line"
                                          else "b·sin(a·x)", learning_rate))
    path = os.path.join(run_dir, args.case + ".png")
    try:
        os.makedirs(run_dir, exist_ok=True)
        rundirs.write_atomically(path, picture)
    except OSError as e:
        raise UsageError("cannot write %s: %s" % (path, e.strerror or e))
    print("picture: %s" % path)
    return {"paths": paths, "picture": path}


def _around(values, margin=0.25):
    """A range around the values, with a margin, for the cost surface's axis."""
    low, high = min(values), max(values)
    spread = max(high - low, 1.0)
    return low - margin * spread, high + margin * spread


def _fitted(case, x_data, path):
    """The model's curve at the last finite parameters of a path."""
    a, b, _ = path[np.isfinite(path).all(axis=1)][-1]
    with tf.Graph().as_default(), tf.Session() as sess:
        return sess.run(model(tf.constant(x_data), np.float32(a), np.float32(b), case["model"]))


if __name__ == "__main__":
    run_main(main, "gradient_descent_demo.py", trains=False)
