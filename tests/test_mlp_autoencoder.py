"""mlp_mnist.py in graph and eager mode, its batch normalization, batch_norm_demo.py, and
autoencoder_mnist.py, on tiny data."""
import os

import numpy as np
import pytest

from conftest import interrupt_at_call, tiny_flags
import autoencoder_mnist
import batch_norm_demo
import input_data
import mlp_mnist
from tfmnist import classifiers, restoring
from tfmnist.command_line import UsageError
from tfmnist.classifiers import Predictor
from tfmnist.tf1 import tf

# Dropout off: its random masks differ between the modes, everything else is the same.
EXACT = ["--keep-prob", "1", "--steps", "12"]


@pytest.mark.parametrize("extra", [[], ["--batch-norm"], ["--loss", "mse"]],
                         ids=["plain", "batch-norm", "mse"])
def test_eager_and_graph_mode_are_the_same_computation(shared_tiny_dir, tmp_path, extra):
    graph = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "graph", *EXACT, *extra))
    eager = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "eager", *EXACT, *extra,
                                      "--eager"))
    assert len(graph["losses"]) == len(eager["losses"]) == 12
    np.testing.assert_allclose(eager["losses"], graph["losses"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager["test_logits"], graph["test_logits"], rtol=1e-4, atol=1e-4)
    assert eager["test_accuracy"] == graph["test_accuracy"]


def test_an_eager_run_is_evaluated_and_classified_from_its_checkpoint(shared_tiny_dir, tmp_path):
    eager = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "8", "--eager"))
    evaluated = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only", "--eager"))
    assert evaluated["test_accuracy"] == eager["test_accuracy"]
    test = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test
    logits = Predictor.from_checkpoint(mlp_mnist.inference, str(tmp_path)).logits(test.images)
    np.testing.assert_allclose(logits, eager["test_logits"], rtol=1e-4, atol=1e-4)
    assert classifiers.run_dir_of("mlp", str(tmp_path)) == str(tmp_path)


def test_an_eager_run_is_not_resumed(shared_tiny_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eager", "--resume"))
    assert "--resume continues graph-mode runs only" in capsys.readouterr().err


def test_the_mlp_learns_and_resumes_exactly(shared_tiny_dir, tmp_path, monkeypatch):
    flags = tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "25", "--keep-prob", "1")
    whole = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "whole", "--steps", "25",
                                      "--keep-prob", "1"))
    assert whole["test_accuracy"] > 0.5
    interrupt_at_call(monkeypatch, 23)
    with pytest.raises(KeyboardInterrupt):
        mlp_mnist.main(flags)
    monkeypatch.undo()
    rest = mlp_mnist.main(flags + ["--resume"])
    np.testing.assert_allclose(rest["losses"], whole["losses"][20:], rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Batch normalization.

def _trained_batch_norm_graph(shared_tiny_dir, run_dir):
    """A briefly trained --batch-norm MLP, rebuilt and restored: (graph pieces, session)."""
    mlp_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "10", "--batch-norm"))
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        is_training = tf.placeholder_with_default(False, [])
        layers = mlp_mnist.parameters(batch_norm=True)
        logits, _ = mlp_mnist.forward(layers, x, is_training=is_training)
        sess = tf.Session(graph=graph)
        restoring.restore(sess, tf.train.Saver(), str(run_dir), tf.global_variables())
    return x, is_training, layers, logits, sess


def test_evaluation_of_one_example_does_not_depend_on_its_batch(shared_tiny_dir, tmp_path):
    x, is_training, _, logits, sess = _trained_batch_norm_graph(shared_tiny_dir, tmp_path)
    images = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test.images[:40]
    with sess:
        in_batch = sess.run(logits, {x: images})
        alone = np.concatenate([sess.run(logits, {x: images[i:i + 1]}) for i in range(40)])
        np.testing.assert_allclose(alone, in_batch, rtol=1e-5, atol=1e-5)
        # Batch statistics, as in training, would make the answer depend on the batch.
        with_batch_statistics = sess.run(logits, {x: images, is_training: True})
        assert not np.allclose(with_batch_statistics, in_batch, atol=1e-3)


def test_moving_averages_move_while_training_and_stay_put_while_evaluating(shared_tiny_dir,
                                                                           tmp_path):
    x, is_training, layers, logits, sess = _trained_batch_norm_graph(shared_tiny_dir, tmp_path)
    averages = [layer[name] for layer in layers[:-1]
                for name in ("moving_mean", "moving_variance")]
    images = input_data.read_data_sets(shared_tiny_dir, validation_size=100).train.images[:50]
    with sess:
        restored = sess.run(averages)
        # The checkpoint holds them: the training run moved them away from 0 and 1.
        saved = tf.train.load_checkpoint(str(tmp_path))
        for variable, value in zip(averages, restored):
            np.testing.assert_array_equal(value, saved.get_tensor(variable.op.name))
        assert not np.allclose(restored[0], 0) and not np.allclose(restored[1], 1)
        sess.run(logits, {x: images})  # evaluating
        for before, after in zip(restored, sess.run(averages)):
            np.testing.assert_array_equal(before, after)
        sess.run(logits, {x: images, is_training: True})  # a forward pass as in training
        moved = sess.run(averages)
        assert all(not np.array_equal(a, b) for a, b in zip(restored, moved))


def test_batch_norm_demo_draws_both_nets(shared_tiny_dir, tmp_path):
    # 300 steps: enough for the moving averages (decay 0.99) to forget their start.
    result = batch_norm_demo.main(["--data-dir", shared_tiny_dir, "--epochs", "30", "--depth",
                                   "3", "--run-dir", str(tmp_path), "--validation-size", "100",
                                   "--batch-size", "50"])
    for path in result["pictures"].values():
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 5000
    without, with_ = (result["distributions"][name] for name in
                      ("without batch norm", "with batch norm"))
    assert len(without) == len(with_) == 3
    # Weights of standard deviation 1 blow the pre-activations up; batch norm keeps them at 1.
    assert min(np.std(layer) for layer in without) > 2
    assert all(0.5 < np.std(layer) < 1.5 for layer in with_)


# ---------------------------------------------------------------------------------------------
# The autoencoder.

def test_the_autoencoder_learns_to_reconstruct_and_draws_its_pictures(shared_tiny_dir,
                                                                      tmp_path):
    result = autoencoder_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "40",
                                               "--learning-rate", "3e-3"))
    assert np.mean(result["losses"][-5:]) < 0.8 * np.mean(result["losses"][:3])
    test = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test
    error = np.mean((result["test_reconstructions"] - test.images) ** 2)
    assert result["test_reconstruction_error"] == pytest.approx(error, rel=1e-4)
    assert result["test_codes"].shape == (test.num_examples, 2)
    for name in ("reconstructions", "codes", "training_curves"):
        data = (tmp_path / (name + ".png")).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    tags = set()
    [events] = [f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents")]
    for event in tf.train.summary_iterator(str(tmp_path / events)):
        tags.update(value.tag for value in event.summary.value if value.HasField("image"))
    assert {"reconstructions", "codes", "training_curves"} <= tags


def test_the_code_size_is_a_flag_and_restores(shared_tiny_dir, tmp_path):
    trained = autoencoder_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "5",
                                                "--code-size", "8"))
    assert trained["test_codes"].shape[1] == 8
    evaluated = autoencoder_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only",
                                                  "--code-size", "8"))
    assert evaluated["test_reconstruction_error"] == trained["test_reconstruction_error"]
    with pytest.raises(UsageError, match="does not fit this model"):
        autoencoder_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))
