"""softmax_mnist.py on tiny data: it learns, it is reproducible, it runs twice in a process."""
import numpy as np
import tensorflow.compat.v1 as tf

from conftest import tiny_flags
import softmax_mnist


def _weights(checkpoint):
    reader = tf.train.load_checkpoint(checkpoint)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_a_few_steps_lower_the_loss_and_beat_chance(shared_tiny_dir, tmp_path):
    result = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "20"))
    losses = result["losses"]
    assert len(losses) == 20 and result["global_step"] == 20
    assert np.mean(losses[-5:]) < 0.5 * losses[0]
    assert result["test_accuracy"] > 0.5  # chance is 0.1


def test_same_seed_same_weights_and_main_runs_twice_in_one_process(shared_tiny_dir, tmp_path):
    def train(seed, run_dir):
        return softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / run_dir, "--steps", "15",
                                             "--seed", str(seed)))

    first, second, other = train(1, "a"), train(1, "b"), train(2, "c")
    assert first["losses"] == second["losses"]
    assert first["test_accuracy"] == second["test_accuracy"]
    first_weights, second_weights = _weights(first["checkpoint"]), _weights(second["checkpoint"])
    for name in first_weights:
        np.testing.assert_array_equal(first_weights[name], second_weights[name])
    assert first["losses"] != other["losses"]  # the seed drives the batch order
