"""transfer_mnist.py: the frozen layers stay as the source run left them, bit for bit."""
import numpy as np

import transfer_mnist
from tfmnist.tf1 import tf


def test_frozen_conv_layers_are_unchanged_by_training(shared_tiny_dir, tmp_path):
    result = transfer_mnist.main(["--data-dir", shared_tiny_dir, "--labels", "50,all",
                                  "--source-steps", "5", "--steps", "5", "--batch-size", "20",
                                  "--run-dir", str(tmp_path)])
    assert [row[0] for row in result["rows"]][0] == 50 and len(result["rows"]) == 2
    source = str(tmp_path / "source.ckpt")
    data = transfer_mnist.subset(
        __import__("input_data").read_data_sets(shared_tiny_dir, validation_size=0).train,
        transfer_mnist.TARGET_CLASSES, 50)
    args = transfer_mnist.build_parser().parse_args(["--batch-size", "20"])
    _, after = transfer_mnist.train(data, data, 5, args, frozen_from=str(tmp_path))
    _, scratch = transfer_mnist.train(data, data, 5, args)
    assert sorted(after) == ["conv1/biases", "conv1/weights", "conv2/biases", "conv2/weights"]
    for name, value in after.items():
        np.testing.assert_array_equal(value, tf.train.load_variable(source, name))
        assert not np.array_equal(scratch[name], value)  # trained from scratch: they move
    assert (tmp_path / "transfer.png").stat().st_size > 1000
