"""The shared plumbing, through softmax_mnist.py (the quickest script): checkpoints, --resume,
--eval-only, and one-line errors on the command line."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_DIR, tiny_flags
import input_data
import mnist_common
import softmax_mnist


def test_resume_refuses_other_schedule_flags(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    with pytest.raises(mnist_common.UsageError, match=r"--learning-rate 0\.1 \(was 1\.0\)"):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3", "--resume",
                                      "--learning-rate", "0.1"))


def test_a_damaged_checkpoint_is_a_clear_error(shared_tiny_dir, tmp_path):
    result = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "2"))
    data_file = result["checkpoint"] + ".data-00000-of-00001"
    with open(data_file, "r+b") as f:
        f.truncate(10)
    with pytest.raises(mnist_common.UsageError, match="cannot restore checkpoint"):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))


@pytest.mark.parametrize("bad, words", [
    (["--batch-size", "0"], "--batch-size: '0' is not a positive whole number"),
    (["--learning-rate", "-1"], "--learning-rate: '-1' is not a positive number"),
    (["--epochs", "x"], "--epochs: 'x' is not a positive number"),
    (["--epochs", "nan"], "--epochs: 'nan' is not a positive number"),
    (["--resume", "--eval-only"], "--resume and --eval-only cannot be used together"),
])
def test_bad_flags_are_refused_in_one_line(shared_tiny_dir, tmp_path, capsys, bad, words):
    with pytest.raises(SystemExit) as exit_info:
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path) + bad)
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.splitlines()[-1]
    assert last_line.startswith("softmax_mnist.py: error: ") and words in last_line


def test_validation_split_larger_than_the_data_is_refused(shared_tiny_dir, tmp_path):
    with pytest.raises(mnist_common.UsageError, match="--validation-size"):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path) + ["--validation-size", "9999"])


def test_model_flags_are_checked_too(shared_tiny_dir, tmp_path, capsys):
    import cnn_mnist

    with pytest.raises(SystemExit):
        cnn_mnist.main(tiny_flags(shared_tiny_dir, tmp_path) + ["--keep-prob", "0"])
    assert "--keep-prob: '0' is not a probability in (0, 1]" in capsys.readouterr().err


def _run_script(*args):
    return subprocess.run([sys.executable, os.path.join(REPO_DIR, "softmax_mnist.py"), *args],
                          capture_output=True, text=True, cwd=REPO_DIR)


def test_command_line_errors_are_one_line_without_traceback(tiny_dir, tmp_path):
    path = os.path.join(tiny_dir, input_data.TRAIN_LABELS + ".gz")
    with open(path, "wb") as f:
        f.write(b"not gzip")
    run_dir = tmp_path / "run"
    result = _run_script(*tiny_flags(tiny_dir, run_dir))
    assert result.returncode == 2
    assert result.stderr.startswith("softmax_mnist.py: error: %s: not a valid gzip file" % path)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == "" and not run_dir.exists()  # no training, nothing written


def test_command_line_trains_and_ends_with_the_test_accuracy(shared_tiny_dir, tmp_path):
    result = _run_script(*tiny_flags(shared_tiny_dir, tmp_path, "--steps", "10"))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"test accuracy: [01]\.\d{4}", result.stdout.splitlines()[-1])
    assert "images/s" in result.stdout and "validation accuracy" in result.stdout
    assert set(os.listdir(tmp_path)) >= {"checkpoint", mnist_common.CONFIG_FILE,
                                         "model.ckpt-10.index"}
