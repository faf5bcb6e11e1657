"""docs/porting.md, row by row: each replacement is run exactly as the table writes it, and
checked against what the old name gave (its defaults and formulas, read from TF 1.15's, NumPy's,
SciPy's and matplotlib's sources). A row without a check here fails the suite."""
import os
import re
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from conftest import REPO_DIR
import input_data
from tfmnist.tf1 import TF1_LAYERS, tf

PORTING_FILE = os.path.join(REPO_DIR, "docs", "porting.md")
CODE = re.compile(r"`([^`]+)`")


def porting_rows():
    """{then: now} of the tables: the first code span of each row's first two cells."""
    rows = {}
    with open(PORTING_FILE) as f:
        for line in f:
            cells = line.split(" | ")
            if line.startswith("| `") and len(cells) >= 3:
                rows[CODE.search(cells[0]).group(1)] = CODE.search(cells[1]).group(1)
    return rows


ROWS = porting_rows()
CHECKS = {}


def tried(then, legacy=False):
    """Registers the check of the row whose old code is `then`."""
    def register(check):
        CHECKS[then] = (check, legacy)
        return check
    return register


def replacement(then):
    """The row's new code as a function of the names it uses: now(x=..., n=...) runs it as
    written, with tf, np, Image, plt, matplotlib and input_data in scope."""
    code = ROWS[then]

    def now(**names):
        scope = dict(tf=tf, np=np, Image=Image, plt=plt, matplotlib=matplotlib,
                     input_data=input_data, **names)
        try:
            compiled = compile(code, PORTING_FILE, "eval")
        except SyntaxError:  # a statement: `import input_data`
            exec(compile(code, PORTING_FILE, "exec"), scope)
            return scope
        return eval(compiled, scope)
    return now


def test_every_row_is_tried_and_every_check_has_its_row():
    assert len(ROWS) >= 25
    assert set(ROWS) == set(CHECKS)


def values(*tensors, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(list(tensors), feed)


# ---------------------------------------------------------------------------------------------
# TensorFlow

@tried("from tensorflow.examples.tutorials.mnist import input_data")
def _(now):
    assert now()["input_data"].read_data_sets is input_data.read_data_sets


@tried('tf.contrib.learn.datasets.load_dataset("mnist")')
def _(now):
    mnist = now()  # contrib's load_mnist(): read_data_sets("MNIST-data"), class ids
    assert os.path.isdir("MNIST-data")
    assert mnist.train.labels.dtype == np.uint8 and mnist.train.labels.shape == (55000,)
    assert mnist.train.images.shape == (55000, 784)


@tried("tf.keras.datasets.mnist.load_data()")
def _(now):
    (x_train, y_train), (x_test, y_test) = now()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8


@tried("tf.contrib.layers.xavier_initializer()")
def _(now):
    # contrib: uniform in +-sqrt(3 / ((fan_in + fan_out) / 2)), Glorot's limit
    (w,) = values(tf.get_variable("w", [784, 200], initializer=now()))
    limit = np.sqrt(6 / (784 + 200))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.02 * limit


@tried("tf.contrib.layers.variance_scaling_initializer()")
def _(now):
    # contrib: factor 2, fan-in, a normal truncated at 2 stddev of sqrt(1.3 * 2 / fan_in)
    (w,) = values(tf.get_variable("w", [784, 400], initializer=now()))
    contrib_std = np.sqrt(1.3 * 2 / 784) * 0.8796  # what truncation at 2 sigma leaves
    assert abs(w.std() - contrib_std) < 0.02 * contrib_std
    assert np.abs(w).max() < 2.01 * np.sqrt(1.3 * 2 / 784)


@tried("tf.contrib.layers.l2_regularizer(scale)(w)")
def _(now):
    weights = np.arange(6, dtype=np.float32).reshape(2, 3)
    (penalty,) = values(now(scale=0.01, w=tf.constant(weights)))
    assert penalty == pytest.approx(0.01 * (weights ** 2).sum() / 2)


@tried("tf.contrib.layers.flatten(x)")
def _(now):
    x = tf.placeholder(tf.float32, [None, 7, 7, 64])
    flat = now(x=x)
    assert flat.shape.as_list() == [None, 7 * 7 * 64]
    batch = np.random.default_rng(0).random((2, 7, 7, 64), dtype=np.float32)
    (out,) = values(flat, feed={x: batch})
    np.testing.assert_array_equal(out, batch.reshape(2, -1))


@tried("tf.contrib.layers.fully_connected(x, n)", legacy=True)
def _(now):
    x = tf.constant(np.random.default_rng(0).normal(size=(64, 20)), tf.float32)
    out = now(x=x, n=30)
    (value,) = values(out)
    assert value.shape == (64, 30) and value.min() == 0 and value.max() > 0  # ReLU


@tried("tf.contrib.layers.conv2d(x, n, k)", legacy=True)
def _(now):
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    out = now(x=x, n=8, k=5)
    assert out.shape.as_list() == [None, 28, 28, 8]  # SAME
    (value,) = values(out, feed={x: np.random.default_rng(0).normal(size=(2, 28, 28, 1))})
    assert value.min() == 0  # ReLU


@tried("tf.contrib.layers.max_pool2d(x, 2)", legacy=True)
def _(now):
    x = tf.placeholder(tf.float32, [None, 28, 28, 32])
    assert now(x=x).shape.as_list() == [None, 14, 14, 32]


@tried("tf.contrib.layers.batch_norm(x, is_training=t)", legacy=True)
def _(now):
    x = tf.constant(np.full((4, 3), 10.0), tf.float32)
    out = now(x=x, t=True)
    names = sorted(v.op.name.split("/")[-1] for v in tf.trainable_variables())
    assert names == ["beta"]  # contrib's scale=False: no gamma
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    moving_mean = [v for v in tf.global_variables() if "moving_mean" in v.op.name][0]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([out, updates])
        assert sess.run(moving_mean) == pytest.approx(np.full(3, 10 * 0.001))  # decay 0.999


@tried("tf.contrib.rnn.BasicLSTMCell(n)", legacy=True)
def _(now):
    cell = now(n=16)
    assert cell.state_size == (16, 16)
    for name in ("LSTMCell", "GRUCell", "MultiRNNCell", "DropoutWrapper", "LSTMStateTuple"):
        assert getattr(tf.nn.rnn_cell, name)


@tried("tf.contrib.rnn.static_rnn(cell, inputs, dtype=tf.float32)", legacy=True)
def _(now):
    inputs = tf.unstack(tf.zeros([2, 28, 28]), 28, axis=1)  # aymericdamien's rows-as-steps
    outputs, state = now(cell=tf.nn.rnn_cell.BasicLSTMCell(16), inputs=inputs)
    assert len(outputs) == 28 and outputs[-1].shape.as_list() == [2, 16]


@tried("tf.contrib.rnn.static_bidirectional_rnn(fw, bw, inputs, dtype=tf.float32)",
       legacy=True)
def _(now):
    inputs = tf.unstack(tf.zeros([2, 28, 28]), 28, axis=1)
    outputs, _, _ = now(fw=tf.nn.rnn_cell.BasicLSTMCell(16),
                        bw=tf.nn.rnn_cell.BasicLSTMCell(16), inputs=inputs)
    assert len(outputs) == 28 and outputs[-1].shape.as_list() == [2, 32]


@tried("rnn.BasicLSTMCell(n)", legacy=True)
def _(now):
    assert isinstance(now(n=16), tf.nn.rnn_cell.BasicLSTMCell)


@tried("rnn.static_rnn(cell, inputs, dtype=tf.float32)", legacy=True)
def _(now):
    inputs = [tf.ones([2, 3])] * 4
    outputs, state = now(cell=tf.nn.rnn_cell.BasicLSTMCell(16), inputs=inputs)
    assert len(outputs) == 4 and values(outputs[-1])[0].shape == (2, 16)


@tried("tf.contrib.lookup.index_to_string_table_from_tensor(names)")
def _(now):
    table = now(names=tf.constant(["zero", "one", "two"]))
    with tf.Session() as sess:
        sess.run(tf.tables_initializer())
        found = sess.run(table.lookup(tf.constant([2, 0, 7], tf.int64)))
    assert list(found) == [b"two", b"zero", b"UNK"]  # contrib's default_value was "UNK"


@tried("from tensorflow.examples.tutorials.mnist import mnist")
def _(now):
    with open("mnist.py", "w") as f:  # the tutorial's sibling module, put beside the program
        f.write("NUM_CLASSES = 10\n")
    sys.path.insert(0, os.getcwd())
    try:
        assert now()["mnist"].NUM_CLASSES == 10
    finally:
        sys.path.remove(os.getcwd())
        sys.modules.pop("mnist", None)


@tried("mnist_input_data.read_data_sets(path)")
def _(now):
    data = now(path="MNIST_data")
    assert data.train.num_examples + data.validation.num_examples == 60000


@tried("tf.contrib.distributions.Normal(mu, sigma)")
def _(now):
    normal = now(mu=0.0, sigma=2.0)
    (log_prob,) = values(normal.log_prob(1.0))
    assert log_prob == pytest.approx(-0.5 * np.log(2 * np.pi * 4) - 1 / 8, rel=1e-6)


@tried("tf.estimator.Estimator(model_fn)")
def _(now):
    # estimator.py's own tests train, evaluate and predict with it (tests/test_estimator.py),
    # and test_code_people_bring.py runs TF's Layers tutorial through this row.
    import estimator
    classifier = now(estimator=estimator, model_fn=lambda features, labels, mode: None)
    assert isinstance(classifier, estimator.Estimator) and os.path.isdir(classifier.model_dir)
    os.rmdir(classifier.model_dir)  # TF1's temporary model directory, made and still empty


@tried("tf.contrib.slim", legacy=True)
def _(now):
    layers = now()
    for name in ("conv2d", "dense", "max_pooling2d", "flatten"):
        assert callable(getattr(layers, name))


# ---------------------------------------------------------------------------------------------
# NumPy, SciPy, matplotlib

@tried("np.reshape(a, newshape=s)")
def _(now):
    assert now(a=np.arange(6), s=(2, 3)).shape == (2, 3)


@tried("np.float(v)")
def _(now):
    assert now(v="1.5") == 1.5 and type(now(v="1.5")) is float


@tried("np.asscalar(a)")
def _(now):
    value = now(a=np.array([7], dtype=np.int64))
    assert value == 7 and type(value) is int


@tried("np.product(a)")
def _(now):
    assert now(a=np.array([2, 3, 4])) == 24


@tried("np.NaN")
def _(now):
    assert np.isnan(now())


@tried("scipy.misc.imread(path)")
def _(now):
    Image.fromarray(np.full((5, 4), 200, np.uint8)).save("digit.png")
    pixels = now(path="digit.png")
    assert pixels.shape == (5, 4) and pixels.dtype == np.uint8 and (pixels == 200).all()


@tried("scipy.misc.imsave(path, a)")
def _(now):
    now(path="digit.png", a=np.full((5, 4), 200, np.uint8))
    assert (np.asarray(Image.open("digit.png")) == 200).all()


@tried("scipy.misc.imresize(a, (h, w))")
def _(now):
    resized = now(a=np.full((56, 40), 255, np.uint8), h=28, w=20)
    assert resized.shape == (28, 20) and (resized == 255).all()


@tried("255 * label / 9")
def _(now):
    label = input_data.load_data()[1][1][0]  # uint8, as TF1's labels were
    assert label.dtype == np.uint8 and now(label=label) == 255 * int(label) / 9
    assert now(label=np.uint8(7)) == 255 * 7 / 9  # NumPy 2's 255 * np.uint8(7) wraps to 249


@tried("Axes3D(fig)")
def _(now):
    fig = plt.figure()
    try:
        ax = now(fig=fig)
        assert ax.name == "3d" and fig.axes == [ax]
    finally:
        plt.close(fig)


@tried("plt.cm.get_cmap(name)")
def _(now):
    assert isinstance(now(name="viridis"), matplotlib.colors.Colormap)


# Last: the checks above are registered by now.
@pytest.mark.parametrize("then", sorted(CHECKS))
def test_the_replacement_does_what_the_old_code_did(then, tmp_path, monkeypatch):
    check, legacy = CHECKS[then]
    if legacy and not TF1_LAYERS:
        pytest.skip("needs tf-keras: pip install --no-deps -r requirements-legacy.txt")
    monkeypatch.chdir(tmp_path)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        check(replacement(then))
