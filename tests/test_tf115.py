"""Runs that cross TensorFlow versions: a run trained on TensorFlow 1.15 (the README's
.venv-tf115) is evaluated, resumed and served under today's TensorFlow, and the reverse; a
SavedModel exported under one is served under the other. Skipped where .venv-tf115 is not
set up (`.ci/run` sets it up where it finds a Python 3.7)."""
import json
import os
import re
import shutil
import socket
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_DIR, tiny_flags
import input_data
import softmax_mnist
from tfmnist import classifiers

TF115_PYTHON = os.path.join(REPO_DIR, ".venv-tf115", "bin", "python")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not os.path.exists(TF115_PYTHON), reason="no .venv-tf115: see the README's TensorFlow 1.15")]


def on_tf115(script, *argv):
    """Runs SCRIPT.py under TensorFlow 1.15; returns its stdout (asserting it succeeded)."""
    result = subprocess.run([TF115_PYTHON, os.path.join(REPO_DIR, script), *argv],
                            capture_output=True, text=True, timeout=300, cwd=REPO_DIR)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stdout


def test_a_run_and_a_saved_model_cross_versions_both_ways(shared_tiny_dir, tmp_path):
    test = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test
    png = tmp_path / "digit.png"  # MNIST's first test digit, a 7
    Image.fromarray(input_data.load_data()[1][0][0]).save(png)

    # Trained on 1.15: evaluated, resumed and served here.
    old = tmp_path / "trained_on_1.15"
    on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, old, "--steps", "5"))
    trained = json.loads((old / "metrics.json").read_text())
    evaluated = softmax_mnist.main(tiny_flags(shared_tiny_dir, old, "--eval-only"))
    assert evaluated["global_step"] == 5
    assert evaluated["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-9)
    predictor = classifiers.load("softmax", str(old))
    assert predictor.probabilities(test.images).shape == (len(test.images), 10)
    predictor.close()
    resumed = softmax_mnist.main(tiny_flags(shared_tiny_dir, old, "--steps", "8", "--resume"))
    assert resumed["global_step"] == 8 and len(resumed["losses"]) == 3

    # Trained here: evaluated, resumed and served on 1.15.
    new = tmp_path / "trained_here"
    here = softmax_mnist.main(tiny_flags(shared_tiny_dir, new, "--steps", "5"))
    out = on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, new, "--eval-only"))
    assert "test accuracy: %.4f" % here["test_accuracy"] in out
    out = on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, new, "--steps", "8",
                                                   "--resume"))
    assert "training 3 steps of 50" in out
    assert str(png) in on_tf115("classify.py", str(png), "--model", "softmax", "--run-dir",
                                str(new))

    # SavedModels: exported under one, served under the other.
    exported_here = tmp_path / "exported_here"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, new, "--eval-only", "--export",
                                  str(exported_here)))
    line = on_tf115("classify.py", str(png), "--model", "softmax", "--run-dir",
                    str(exported_here)).strip()
    exported_on_115 = tmp_path / "exported_on_1.15"
    on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, old, "--eval-only", "--export",
                                             str(exported_on_115)))
    served = classifiers.load("softmax", str(exported_on_115))
    checkpoint = classifiers.load("softmax", str(old))
    np.testing.assert_allclose(served.probabilities(test.images),
                               checkpoint.probabilities(test.images), rtol=1e-5, atol=1e-6)
    served.close()
    checkpoint.close()
    assert line.startswith(str(png) + ": ")


# ---------------------------------------------------------------------------------------------
# Code people bring, unchanged, on TensorFlow 1.15: programs of our own written in the styles
# of the classic ones (tests/brought_tf115/), run as published, each in an empty directory
# where the README says to put the bundled MNIST files.

BROUGHT = os.path.join(REPO_DIR, "tests", "brought_tf115")


def brought(tmp_path, program, *argv, data_dirs=("MNIST_data",), timeout=300):
    """Runs tests/brought_tf115/PROGRAM under TensorFlow 1.15 in tmp_path, with the bundled
    MNIST copied into each of data_dirs as the README says; returns the finished process."""
    for data_dir in data_dirs:
        (tmp_path / data_dir).mkdir(exist_ok=True)
        for name in os.listdir(os.path.join(REPO_DIR, "data")):
            if name.endswith(".gz"):
                shutil.copy(os.path.join(REPO_DIR, "data", name), tmp_path / data_dir)
    return subprocess.Popen([TF115_PYTHON, os.path.join(BROUGHT, program), *argv],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))


def finished(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    assert "Downloading" not in err + out  # the bundled files, offline
    return out


@pytest.mark.parametrize("program, argv, data_dirs, pattern", [
    # tf.app.run, argparse's --data_dir, tf.examples.tutorials.mnist's loader
    ("mnist_softmax.py", ["--data_dir", os.path.join(REPO_DIR, "data")], (),
     r"accuracy 0\.(8[5-9]|9)"),
    # from tensorflow.contrib import rnn; tf.contrib.layers; "MNIST_data/"
    ("contrib_mnist.py", [], ("MNIST_data",), r"accuracy 0\.(8[5-9]|9)"),
    # tf.estimator with tf.layers, numpy_input_fn, LoggingTensorHook; contrib.learn's
    # load_dataset("mnist") reads "MNIST-data/"
    ("estimator_mnist.py", [], ("MNIST-data",), r"'accuracy': 0\.(8[5-9]|9)"),
])
def test_programs_people_bring_run_unchanged(tmp_path, program, argv, data_dirs, pattern):
    assert re.search(pattern, finished(brought(tmp_path, program, *argv,
                                               data_dirs=data_dirs)))


def test_a_replica_cluster_people_bring_runs_unchanged(tmp_path):
    # mnist_replica.py's style: tf.app.flags, a ps that serves for ever (server.join()), and
    # workers under tf.train.Supervisor, on ports of this machine.
    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ps, *workers = ["127.0.0.1:%d" % sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    cluster = ["--ps_hosts", ps, "--worker_hosts", ",".join(workers), "--data_dir", "MNIST_data"]
    server = brought(tmp_path, "mnist_replica.py", "--job_name", "ps", "--task_index", "0",
                     *cluster)
    try:
        tasks = [brought(tmp_path, "mnist_replica.py", "--job_name", "worker", "--task_index",
                         str(index), *cluster) for index in range(2)]
        outputs = [finished(task) for task in tasks]
    finally:
        server.kill()
        server.communicate()
    for index, out in enumerate(outputs):
        assert re.search(r"worker %d: trained \d+ steps, validation cross entropy" % index, out)
