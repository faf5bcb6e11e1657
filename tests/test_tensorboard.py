"""`tensorboard --logdir runs`, for real: a tiny run's scalars and images read back over the
TensorBoard server's HTTP API."""
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import tiny_flags
import softmax_mnist
from tfmnist import rundirs

pytestmark = pytest.mark.slow  # TensorBoard's server, a process of its own

STARTUP_SECONDS = 90


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base, path, **query):
    url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


@pytest.fixture
def tensorboard(tmp_path):
    """Starts TensorBoard on tmp_path/runs at a free port on 127.0.0.1; yields its base URL."""
    logdir = tmp_path / "runs"
    logdir.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host",
         "127.0.0.1", "--port", str(port), "--load_fast", "false", "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield "http://127.0.0.1:%d" % port, logdir
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(base, path, ready):
    """GETs path until ready(its JSON) holds; fails after STARTUP_SECONDS."""
    deadline = time.monotonic() + STARTUP_SECONDS
    last = None
    while time.monotonic() < deadline:
        try:
            last = json.loads(get(base, path))
            if ready(last):
                return last
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail("TensorBoard did not serve %s in %d s (last answer: %r)"
                % (path, STARTUP_SECONDS, last))


def test_tensorboard_serves_a_runs_scalars_and_images(shared_tiny_dir, tensorboard):
    base, logdir = tensorboard
    run_dir = logdir / "softmax_mnist" / "1"
    # A rate too small to learn in 2 steps leaves misclassified digits to show.
    result = softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "2",
                                           "--log-every", "1", "--learning-rate", "1e-6"))
    run = "softmax_mnist/1"

    tags = wait_for(base, "/data/plugin/scalars/tags",
                    lambda tags: "accuracy/validation" in tags.get(run, {}))
    assert {"loss", "accuracy/train_batch", "learning_rate"} <= set(tags[run])
    losses = json.loads(get(base, "/data/plugin/scalars/scalars", run=run, tag="loss"))
    assert [step for _, step, _ in losses] == [1, 2]
    assert [value for _, _, value in losses] == pytest.approx(result["losses"], rel=1e-6)
    [(_, step, accuracy)] = json.loads(get(base, "/data/plugin/scalars/scalars", run=run,
                                           tag="accuracy/validation"))
    assert step == 2 and accuracy == pytest.approx(result["validation_accuracy"])

    assert result["test_accuracy"] < 1
    images = wait_for(base, "/data/plugin/images/tags",
                      lambda tags: "training_curves" in tags.get(run, {}))[run]
    assert any(tag.startswith("misclassified/test image") for tag in images), images
    [entry] = json.loads(get(base, "/data/plugin/images/images", run=run,
                             tag="training_curves", sample=0))
    png = get(base, "/data/plugin/images/individualImage?" + entry["query"])
    assert png == (run_dir / "training_curves.png").read_bytes()
    with open(run_dir / rundirs.METRICS_FILE) as f:
        assert json.load(f)["global_step"] == 2
