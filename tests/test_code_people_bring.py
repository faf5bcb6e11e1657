"""Code people bring, with only its imports changed: TF1's input_data API exactly, TF2
tutorials' load_data offline, TF1's layers and RNN cells (with tf-keras), Python 3.7."""
import glob
import inspect
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_DIR, TINY_TRAIN
from test_porting import porting_rows
import input_data
from tfmnist.tf1 import TF1_LAYERS, tf

MANIFEST_FILE = os.path.join(REPO_DIR, "tools", "api_manifest.txt")
# TF1's defaults as its source spells them, and the values they stand for here.
TF1_DEFAULTS = {"dtypes.float32": np.float32, "DEFAULT_SOURCE_URL": input_data.MIRRORS}


def tf1_signatures():
    """{name: [(parameter, default source or None)]} of TF 1.15's MNIST loader, read from its
    wheel by tools/api_manifest.py."""
    signatures = {}
    with open(MANIFEST_FILE) as f:
        for line in f:
            if line.startswith("input_data."):
                name, _, params = line.split()
                signatures[name] = [tuple(param.split("=", 1)) if "=" in param else (param, None)
                                    for param in params.split(",")]
    return signatures


@pytest.mark.parametrize("name, ours", [
    ("input_data.read_data_sets", input_data.read_data_sets),
    ("input_data.DataSet", input_data.DataSet.__init__),
    ("input_data.DataSet.next_batch", input_data.DataSet.next_batch),
    ("input_data.extract_images", input_data.extract_images),
    ("input_data.extract_labels", input_data.extract_labels),
    ("input_data.dense_to_one_hot", input_data.dense_to_one_hot),
])
def test_the_loader_has_tf1s_signatures_and_defaults(name, ours):
    theirs = tf1_signatures()[name]
    parameters = [p for p in inspect.signature(ours).parameters.values() if p.name != "self"]
    assert [p.name for p in parameters[:len(theirs)]] == [param for param, _ in theirs]
    for parameter, (param, default) in zip(parameters, theirs):
        if default is None:  # required in TF1 (train_dir has a default here: the data/)
            continue
        expected = TF1_DEFAULTS[default] if default in TF1_DEFAULTS else eval(default)
        assert parameter.default == expected, (param, parameter.default, default)
    # Anything of ours beyond TF1's comes after its parameters, with a default.
    assert all(p.default is not p.empty for p in parameters[len(theirs):])


def test_next_batch_with_fake_data_positional_still_shuffles(shared_tiny_dir):
    train = input_data.read_data_sets(shared_tiny_dir, validation_size=0, seed=0).train
    in_order = train.labels[:100].copy()
    # The tutorials' data_set.next_batch(batch_size, fake_data): fake_data, not shuffle.
    batch_xs, batch_ys = train.next_batch(100, False)
    assert batch_xs.shape == (100, 784) and not np.array_equal(batch_ys, in_order)
    _, by_keyword = train.next_batch(100, fake_data=False)
    assert by_keyword.shape == (100,)


@pytest.mark.parametrize("dtype, scale", [(tf.float32, 1.0), (tf.uint8, 255),
                                          (np.float32, 1.0), ("uint8", 255)])
def test_tensorflow_dtypes_are_taken(shared_tiny_dir, dtype, scale):
    mnist = input_data.read_data_sets(shared_tiny_dir, dtype=dtype, validation_size=100)
    assert mnist.train.images.max() == scale and mnist.train.num_examples == TINY_TRAIN - 100


def test_another_dtype_is_tf1s_type_error(shared_tiny_dir):
    with pytest.raises(TypeError, match="Invalid image dtype .*, expected uint8 or float32"):
        input_data.read_data_sets(shared_tiny_dir, dtype=tf.int32)


@pytest.mark.parametrize("one_hot, label", [(False, 0), (True, [1] + [0] * 9)])
def test_fake_data_is_tf1s(one_hot, label):
    mnist = input_data.read_data_sets("unused", fake_data=True, one_hot=one_hot)
    assert isinstance(mnist, input_data.Datasets) and mnist._fields == ("train", "validation",
                                                                         "test")
    assert all(ds.num_examples == 10000 for ds in mnist)
    batch_xs, batch_ys = mnist.train.next_batch(5, fake_data=True)
    assert batch_xs == [[1] * 784] * 5 and batch_ys == [label] * 5
    assert not os.path.exists("unused")


def test_load_data_gives_what_keras_gives_offline():
    (x_train, y_train), (x_test, y_test) = input_data.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    assert (y_train[:5].tolist(), y_test[:5].tolist()) == ([5, 0, 4, 1, 9], [7, 2, 1, 0, 4])
    assert x_train.max() == 255 and np.bincount(y_test).tolist()[:3] == [980, 1135, 1032]


# ---------------------------------------------------------------------------------------------
# TF1's layers and RNN cells, with the tf-keras package (CI installs it).

legacy = pytest.mark.skipif(not TF1_LAYERS, reason="needs tf-keras: pip install --no-deps "
                                                     "-r requirements-legacy.txt")


def train_a_few_steps(shared_tiny_dir, build, steps=30):
    """Builds (x, y_, logits) with `build` in a graph of its own and trains it with Adam;
    returns the first and last losses."""
    mnist = input_data.read_data_sets(shared_tiny_dir, validation_size=0, seed=0)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.int64, [None])
        training = tf.placeholder_with_default(False, [])
        logits = build(x, training)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_step = tf.train.AdamOptimizer(3e-3).minimize(loss)
        losses = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                batch_xs, batch_ys = mnist.train.next_batch(50)
                losses.append(sess.run([train_step, loss], {x: batch_xs, y_: batch_ys,
                                                            training: True})[1])
    return losses[0], losses[-1]


@legacy
def test_basic_lstm_cell_with_dynamic_rnn_trains(shared_tiny_dir):
    def build(x, training):
        rows = tf.reshape(x, [-1, 28, 28])
        cells = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.BasicLSTMCell(32),
                                             tf.nn.rnn_cell.LSTMCell(32)])
        outputs, _ = tf.nn.dynamic_rnn(cells, rows, dtype=tf.float32)
        return tf.layers.dense(outputs[:, -1], 10)

    first, last = train_a_few_steps(shared_tiny_dir, build)
    assert last < first / 2


@legacy
def test_a_tf_layers_cnn_trains(shared_tiny_dir):
    def build(x, training):
        images = tf.reshape(x, [-1, 28, 28, 1])
        h = tf.layers.conv2d(images, 8, 5, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.batch_normalization(h, training=training)
        h = tf.layers.dense(tf.layers.flatten(h), 32, activation=tf.nn.relu)
        h = tf.layers.dropout(h, rate=0.2, training=training)
        return tf.layers.dense(h, 10)

    first, last = train_a_few_steps(shared_tiny_dir, build)
    assert last < first / 2


@pytest.mark.slow
def test_tensorflow_imports_with_the_legacy_switch_and_no_package():
    """TF_USE_LEGACY_KERAS=1 without tf-keras breaks TensorFlow's import; tf1.py drops it
    with a notice."""
    code = ("import sys\nsys.modules['tf_keras'] = None  # as if it were not installed\n"
            "from tfmnist.tf1 import LEGACY_KERAS, tf\n"
            "assert not LEGACY_KERAS\nprint(tf.constant(1).shape)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_DIR, env=dict(os.environ, TF_USE_LEGACY_KERAS="1"))
    assert result.returncode == 0, result.stderr
    assert "notice: TF_USE_LEGACY_KERAS is set, but the tf-keras package is not installed" \
        in result.stderr


# ---------------------------------------------------------------------------------------------
# Python 3.7 and TensorFlow 1.15.

def python_37_files():
    """What an install on Python 3.7 runs: the programs, the loader, tfmnist/."""
    return sorted(glob.glob(os.path.join(REPO_DIR, "*.py"))
                  + glob.glob(os.path.join(REPO_DIR, "tfmnist", "**", "*.py"), recursive=True))


def test_vermin_finds_nothing_newer_than_python_37():
    vermin = shutil.which("vermin") or os.path.join(os.path.dirname(sys.executable), "vermin")
    if not os.path.exists(vermin):
        pytest.skip("vermin is not installed (requirements-test.txt installs it; under Python "
                    "3.7 the tests run the code itself)")
    result = subprocess.run([vermin, "-t=3.7-", "--violations", "--no-tips",
                             "--eval-annotations", *python_37_files()],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def requirement_lines(python_version):
    """The lines of requirements.txt whose markers hold on `python_version` (Linux x86-64)."""
    from packaging.requirements import Requirement

    environment = {"python_version": python_version, "sys_platform": "linux",
                   "platform_machine": "x86_64"}
    with open(os.path.join(REPO_DIR, "requirements.txt")) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return [line for line in lines
            if Requirement(line).marker is None or Requirement(line).marker.evaluate(environment)]


@pytest.mark.parametrize("python_version, tensorflow", [
    ("3.7", "tensorflow==1.15.5"),
    ("3.8", "tensorflow-cpu==2.21.0"),  # which needs 3.10: pip says so, and installs nothing
    ("3.9", "tensorflow-cpu==2.21.0"),
    ("3.10", "tensorflow-cpu==2.21.0"),
    ("3.13", "tensorflow-cpu==2.21.0"),
])
def test_requirements_install_a_tensorflow_or_fail_clearly(python_version, tensorflow):
    names = [re.split(r"[=<>;]", line)[0].strip() for line in requirement_lines(python_version)]
    assert [line.split(";")[0].strip() for line in requirement_lines(python_version)
            if line.startswith("tensorflow")] == [tensorflow]
    assert {"numpy", "pillow", "matplotlib"} <= set(names)


# ---------------------------------------------------------------------------------------------
# The README's recipe for a tutorial of your own, as printed: its code, its commands, and only
# the environment they set.

# A TF1 tutorial's body, below the recipe's imports: tf.layers and an RNN cell, trained.
TUTORIAL_BODY = '''
x = tf.placeholder(tf.float32, [None, 784])
y_ = tf.placeholder(tf.float32, [None, 10])
rows = tf.unstack(tf.reshape(x, [-1, 28, 28]), 28, axis=1)
outputs, _ = tf.nn.static_rnn(tf.nn.rnn_cell.BasicLSTMCell(16), rows, dtype=tf.float32)
logits = tf.layers.dense(outputs[-1], 10)
cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
train_step = tf.train.AdamOptimizer(1e-2).minimize(cross_entropy)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(5):
        batch_xs, batch_ys = mnist.train.next_batch(50)
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
    print("trained, labels", mnist.train.labels.dtype, mnist.train.labels.shape)
'''


def readme_block(marker):
    """The fenced block after `<!-- marker -->` in the README."""
    with open(os.path.join(REPO_DIR, "README.md")) as f:
        text = f.read()
    match = re.search(r"<!-- %s -->\n```\w*\n(.*?)```" % re.escape(marker), text, re.S)
    assert match, "no block after <!-- %s --> in README.md" % marker
    return match.group(1)


def run_recipe(tmp_path, command_marker, code):
    """Runs `code` as your_tutorial.py with the README's command, in an empty directory, in
    an environment of only PATH and HOME besides what the command sets."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "your_tutorial.py").write_text(code)
    command = readme_block(command_marker).strip()
    python = "/path/to/this/repository/.venv/bin/python"
    assert python in command
    # The interpreter running these tests, whichever virtual environment it is.
    command = command.replace(python, sys.executable)
    command = command.replace("/path/to/this/repository", REPO_DIR)
    return subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": os.defpath, "HOME": str(tmp_path)}, timeout=300)


@pytest.mark.slow
@legacy
def test_the_recipe_runs_tf_layers_and_rnn_cells_as_printed(tmp_path):
    result = run_recipe(tmp_path, "recipe command", readme_block("recipe") + TUTORIAL_BODY)
    assert result.returncode == 0, result.stderr
    assert "trained, labels float64 (55000, 10)" in result.stdout
    assert (tmp_path / "MNIST_data" / "train-images-idx3-ubyte.gz").is_file()


@pytest.mark.slow
@legacy
def test_the_quiet_recipe_prints_nothing_of_tensorflows(tmp_path):
    quiet_line = "tf.logging.set_verbosity(tf.logging.ERROR)"
    assert "`%s` above `tf.disable_v2_behavior()`" % quiet_line in \
        re.sub(r"\s+", " ", open(os.path.join(REPO_DIR, "README.md")).read())
    code = readme_block("recipe").replace("tf.disable_v2_behavior()",
                                          quiet_line + "\ntf.disable_v2_behavior()")
    result = run_recipe(tmp_path, "quiet recipe command", code + TUTORIAL_BODY)
    assert result.returncode == 0, result.stderr
    # Only input_data's own line, when it fills MNIST_data/ from the bundled copy.
    assert [line for line in result.stderr.splitlines()
            if not line.startswith("input_data: copied ")] == []
    assert "trained" in result.stdout


@pytest.mark.slow
@legacy
def test_the_recipe_without_the_variable_fails_as_the_readme_says(tmp_path):
    command = readme_block("recipe command")
    assert command.startswith("TF_USE_LEGACY_KERAS=1 ")
    result = subprocess.run(
        [sys.executable, "-c", readme_block("recipe") + TUTORIAL_BODY], cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
        env={"PATH": os.defpath, "HOME": str(tmp_path), "PYTHONPATH": REPO_DIR})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == "AttributeError: `BasicLSTMCell` is not available with Keras 3."
    assert "``AttributeError: `dense` is not available\n  with Keras 3``" in \
        open(os.path.join(REPO_DIR, "README.md")).read()


@pytest.mark.slow
def test_a_seeded_morvan_style_program_prints_the_same_losses_each_run(tmp_path):
    # Morvan's lessons seed TensorFlow and NumPy, then load MNIST without a seed of the
    # loader's own: TF1's loader shuffled from the graph-level seed, and so does input_data.
    code = readme_block("recipe").replace(
        'mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)',
        'tf.set_random_seed(1)\nimport numpy as np\nnp.random.seed(1)\n'
        'mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)') + """
x = tf.placeholder(tf.float32, [None, 784])
y = tf.placeholder(tf.float32, [None, 10])
hidden = tf.nn.relu(tf.matmul(x, tf.Variable(tf.random_normal([784, 32], stddev=0.1))))
logits = tf.matmul(hidden, tf.Variable(tf.random_normal([32, 10], stddev=0.1)))
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(30):
        batch_xs, batch_ys = mnist.train.next_batch(50)
        _, value = sess.run([train, loss], feed_dict={x: batch_xs, y: batch_ys})
        print("%.6f" % value)
"""
    runs = [run_recipe(tmp_path / str(index), "recipe command", code) for index in (1, 2)]
    for result in runs:
        assert result.returncode == 0, result.stderr
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout.split()) == 30


@pytest.mark.slow
@legacy
def test_the_estimator_tutorial_runs_with_the_porting_rows(tmp_path):
    # TF's Layers tutorial (tests/brought_tf115/estimator_mnist.py, which the TF 1.15 tier
    # runs unchanged): the recipe's imports, then docs/porting.md's rows as written.
    rows = porting_rows()
    with open(os.path.join(REPO_DIR, "tests", "brought_tf115", "estimator_mnist.py")) as f:
        program = f.read()
    imports = "".join(line + "\n" for line in readme_block("recipe").splitlines()
                      if not line.startswith("mnist = "))
    program = program.replace("import tensorflow as tf\n", imports + "import estimator\n")
    program = program.replace('tf.contrib.learn.datasets.load_dataset("mnist")',
                              rows['tf.contrib.learn.datasets.load_dataset("mnist")'])
    assert rows["tf.estimator.Estimator(model_fn)"] == "estimator.Estimator(model_fn)"
    program = program.replace("tf.estimator.", "estimator.")
    result = run_recipe(tmp_path, "recipe command", program)
    assert result.returncode == 0, result.stderr[-3000:]
    # The same band as TF 1.15's own Estimator on the unchanged program (tests/test_tf115.py).
    assert re.search(r"'accuracy': (np\.float32\()?0\.[89]", result.stdout), result.stdout
    assert re.search(r"loss = [\d.]+, step = 101", result.stderr)  # TF1's progress lines
    assert (tmp_path / "mnist_convnet_model" / "checkpoint").is_file()
