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
# This process's environment, less what TensorFlow 2.21's import put in it: TF2_BEHAVIOR=1
# would turn TensorFlow 1.15's eager execution on in its children.
ENVIRONMENT = {name: value for name, value in os.environ.items()
               if name not in ("TF2_BEHAVIOR", "TF_USE_LEGACY_KERAS", "TPU_ML_PLATFORM",
                               "TPU_ML_PLATFORM_VERSION", "ENABLE_RUNTIME_UPTIME_TELEMETRY")}
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not os.path.exists(TF115_PYTHON), reason="no .venv-tf115: see the README's TensorFlow 1.15")]


def on_tf115(script, *argv):
    """Runs SCRIPT.py under TensorFlow 1.15; returns its stdout (asserting it succeeded)."""
    result = subprocess.run([TF115_PYTHON, os.path.join(REPO_DIR, script), *argv],
                            capture_output=True, text=True, timeout=300, cwd=REPO_DIR,
                            env=ENVIRONMENT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stdout


def back_to_epoch_one(run_dir):
    """Points the run's checkpoint index at its first epoch's checkpoint (step 10), as a
    run stopped after it leaves it, for --resume to continue."""
    (run_dir / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-10"\n'
                                        'all_model_checkpoint_paths: "model.ckpt-10"\n')


def test_a_run_and_a_saved_model_cross_versions_both_ways(shared_tiny_dir, tmp_path):
    test = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test
    png = tmp_path / "digit.png"  # MNIST's first test digit, a 7
    Image.fromarray(input_data.load_data()[1][0][0]).save(png)
    two_epochs = ["--epochs", "2"]  # of 500 images in steps of 50: a checkpoint at 10 and 20

    # Trained on 1.15: evaluated, served and resumed here.
    old = tmp_path / "trained_on_1.15"
    on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, old, *two_epochs))
    trained = json.loads((old / "metrics.json").read_text())
    evaluated = softmax_mnist.main(tiny_flags(shared_tiny_dir, old, "--eval-only"))
    assert evaluated["global_step"] == 20
    assert evaluated["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-9)
    predictor = classifiers.load("softmax", str(old))
    assert predictor.probabilities(test.images).shape == (len(test.images), 10)
    predictor.close()
    exported_on_115 = tmp_path / "exported_on_1.15"
    on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, old, "--eval-only", "--export",
                                             str(exported_on_115)))
    served, checkpoint = (classifiers.load("softmax", str(exported_on_115)),
                          classifiers.load("softmax", str(old)))
    np.testing.assert_allclose(served.probabilities(test.images),
                               checkpoint.probabilities(test.images), rtol=1e-5, atol=1e-6)
    served.close()
    checkpoint.close()
    back_to_epoch_one(old)
    resumed = softmax_mnist.main(tiny_flags(shared_tiny_dir, old, *two_epochs, "--resume"))
    assert resumed["global_step"] == 20 and len(resumed["losses"]) == 10

    # Trained here: evaluated, served and resumed on 1.15.
    new = tmp_path / "trained_here"
    here = softmax_mnist.main(tiny_flags(shared_tiny_dir, new, *two_epochs))
    out = on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, new, "--eval-only"))
    assert "test accuracy: %.4f" % here["test_accuracy"] in out
    assert on_tf115("classify.py", str(png), "--model", "softmax", "--run-dir",
                    str(new)).startswith(str(png) + ": ")
    exported_here = tmp_path / "exported_here"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, new, "--eval-only", "--export",
                                  str(exported_here)))
    assert on_tf115("classify.py", str(png), "--model", "softmax", "--run-dir",
                    str(exported_here)).startswith(str(png) + ": ")
    back_to_epoch_one(new)
    out = on_tf115("softmax_mnist.py", *tiny_flags(shared_tiny_dir, new, *two_epochs,
                                                   "--resume"))
    assert "training 10 steps of 50 (2.0 epochs) from step 10" in out


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
                            text=True, env=ENVIRONMENT)


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
    # load_dataset("mnist") reads "MNIST-data/". Unseeded, as the tutorial: its 200 steps
    # land either side of 0.85 from run to run (0.847 once).
    ("estimator_mnist.py", [], ("MNIST-data",), r"'accuracy': 0\.[89]"),
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
