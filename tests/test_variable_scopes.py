"""What a student checks of name_scope, variable_scope and reuse, and variable_scope_demo.py's
shared readers giving the same answers as the graph they share weights with."""
import numpy as np
import pytest

import variable_scope_demo
from tfmnist.tf1 import tf


def test_name_scope_prefixes_ops_and_tf_variables_but_not_get_variable():
    with tf.Graph().as_default():
        with tf.name_scope("layer"):
            made = tf.Variable(0.0, name="weights")
            fetched = tf.get_variable("weights", [], initializer=tf.zeros_initializer())
            op = tf.add(made, 1.0, name="plus_one")
        assert made.op.name == "layer/weights"
        assert fetched.op.name == "weights"  # get_variable ignores name scopes
        assert op.op.name == "layer/plus_one"


def test_variable_scope_prefixes_get_variable_and_ops():
    with tf.Graph().as_default():
        with tf.variable_scope("layer"):
            weights = tf.get_variable("weights", [2], initializer=tf.zeros_initializer())
            op = tf.identity(weights, name="read")
        assert weights.op.name == "layer/weights" and op.op.name == "layer/read"


def test_reuse_returns_the_same_variable_and_a_second_make_is_an_error():
    with tf.Graph().as_default():
        with tf.variable_scope("layer"):
            weights = tf.get_variable("weights", [2])
        with tf.variable_scope("layer", reuse=True):
            assert tf.get_variable("weights", [2]) is weights
        with tf.variable_scope("layer"):
            with pytest.raises(ValueError, match="Variable layer/weights already exists"):
                tf.get_variable("weights", [2])
        assert len(tf.global_variables()) == 1


def test_reusing_a_variable_never_made_is_tensorflows_error():
    with tf.Graph().as_default():
        with tf.variable_scope("layer", reuse=True):
            with pytest.raises(ValueError, match="Variable layer/missing does not exist, or was "
                                                 "not created with tf.get_variable"):
                tf.get_variable("missing", [2])


def test_the_demos_readers_share_the_trained_weights(shared_tiny_dir):
    result = variable_scope_demo.main(["--data-dir", shared_tiny_dir, "--validation-size",
                                       "100", "--batch-size", "50", "--steps", "20",
                                       "--rows", "7,28"])
    # The graph that trained and the reader built again with reuse=True: the same numbers.
    np.testing.assert_array_equal(result["shared_logits"]["training"],
                                  result["shared_logits"]["reused"])
    assert sorted(result["accuracies"]) == [7, 28]


def test_the_demo_makes_its_variables_once():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        with tf.variable_scope("lstm"):
            variable_scope_demo.reader(x, 28)
        with tf.variable_scope("lstm", reuse=True):
            variable_scope_demo.reader(x, 7)
        assert sorted(v.op.name for v in tf.global_variables()) == [
            "lstm/biases", "lstm/input_weights", "lstm/output_biases", "lstm/output_weights",
            "lstm/recurrent_weights"]
