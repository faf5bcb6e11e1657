"""Faults found by hostile testing: each gives one clear line, or the right answer, and loses
nothing."""
import glob
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import (REPO_DIR, TINY_TRAIN, after_the_model_line, command, idx_bytes,
                      interrupt_at_call, last_error_line, memory_growth_mb, needs_vmhwm,
                      tiny_flags)
import autoencoder_mnist
import batch_norm_demo
import classify
import input_data
import mlp_mnist
import softmax_mnist
from tfmnist import rundirs
from tfmnist.command_line import UsageError


# ---------------------------------------------------------------------------------------------
# Runs and checkpoints.

def test_resume_refuses_other_data(shared_tiny_dir, tiny_dir, tmp_path):
    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    with pytest.raises(UsageError, match=r"--resume with other training flags than .* was "
                                         r"started with: --data-dir %s \(was %s\)"
                                         % (re.escape(tiny_dir), re.escape(shared_tiny_dir))):
        softmax_mnist.main(tiny_flags(tiny_dir, run_dir, "--steps", "3", "--resume"))
    # The same directory, spelt another way, is the same data.
    same = os.path.join(shared_tiny_dir, "..", os.path.basename(shared_tiny_dir))
    assert softmax_mnist.main(tiny_flags(same, run_dir, "--steps", "3",
                                         "--resume"))["global_step"] == 3


def test_an_interrupted_and_resumed_run_keeps_the_last_three_checkpoints(
        shared_tiny_dir, tmp_path, monkeypatch):
    flags = tiny_flags(shared_tiny_dir, tmp_path, "--epochs", "5")  # saves at 10, 20, ... 50
    interrupt_at_call(monkeypatch, 35)
    with pytest.raises(KeyboardInterrupt):
        softmax_mnist.main(flags)
    monkeypatch.undo()
    softmax_mnist.main(flags + ["--resume"])
    kept = sorted(int(re.search(r"-(\d+)\.index$", path).group(1))
                  for path in glob.glob(str(tmp_path / "model.ckpt-*.index")))
    assert kept == [30, 40, 50]
    assert not glob.glob(str(tmp_path / "model.ckpt-10.*"))


def test_a_lock_file_that_is_a_directory_is_named(shared_tiny_dir, tmp_path, capsys):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    os.remove(tmp_path / rundirs.LOCK_FILE)  # the finished run's, released
    os.mkdir(tmp_path / rundirs.LOCK_FILE)
    assert command(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3", "--resume")) == 2
    assert last_error_line(capsys) == ("softmax_mnist.py: error: %s, the lock file of the run "
                                       "directory, is a directory: remove it"
                                       % (tmp_path / rundirs.LOCK_FILE))


def test_a_finished_run_without_its_checkpoints_says_so(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    for path in glob.glob(str(tmp_path / "model.ckpt-*")) + [str(tmp_path / "checkpoint")]:
        os.remove(path)
    with pytest.raises(UsageError, match="the run there finished .*metrics.json.*, but its "
                                         "checkpoint files have been removed"):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))


def test_ctrl_c_says_which_checkpoint_was_kept(shared_tiny_dir, tmp_path, monkeypatch, capsys):
    interrupt_at_call(monkeypatch, 3)  # before the first checkpoint, at step 10
    assert command(tiny_flags(shared_tiny_dir, tmp_path / "a", "--steps", "25")) == 130
    assert last_error_line(capsys) == ("softmax_mnist.py: interrupted; no checkpoint had been "
                                       "saved, so the run left nothing behind")
    assert not (tmp_path / "a").exists()
    monkeypatch.undo()
    interrupt_at_call(monkeypatch, 15)  # after it
    assert command(tiny_flags(shared_tiny_dir, tmp_path / "b", "--steps", "25")) == 130
    assert last_error_line(capsys) == ("softmax_mnist.py: interrupted; the last checkpoint saved, "
                                       "%s, is complete (--resume continues from it)"
                                       % (tmp_path / "b" / "model.ckpt-10"))


@pytest.mark.slow
def test_sigterm_before_the_first_checkpoint_cleans_up_as_ctrl_c_does(shared_tiny_dir,
                                                                       tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO_DIR, "cnn_mnist.py"),
         *tiny_flags(shared_tiny_dir, run_dir, "--steps", "100000", "--log-every", "1")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_DIR)
    for line in process.stdout:  # until it trains
        if line.startswith("step "):
            break
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("cnn_mnist.py: interrupted; no checkpoint had been "
                                            "saved, so the run left nothing behind")
    assert not run_dir.exists()


def test_a_validation_set_of_every_example_blames_the_right_flag(shared_tiny_dir, tmp_path,
                                                                 capsys):
    assert command(tiny_flags(shared_tiny_dir, tmp_path, "--validation-size", "600")) == 2
    assert last_error_line(capsys) == ("softmax_mnist.py: error: --validation-size 600 leaves no "
                                       "training examples: the training set in %s has 600"
                                       % shared_tiny_dir)


def test_a_parent_of_numbered_runs_stands_for_its_newest(shared_tiny_dir, tmp_path):
    parent = tmp_path / "softmax_mnist"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, parent / "1", "--steps", "3"))
    second = softmax_mnist.main(tiny_flags(shared_tiny_dir, parent / "2", "--steps", "4"))
    evaluated = softmax_mnist.main(tiny_flags(shared_tiny_dir, parent, "--eval-only"))
    assert evaluated["run_dir"] == second["run_dir"] and evaluated["global_step"] == 4
    image = tmp_path / "seven.png"
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 10)).save(str(image))
    readings = classify.classify([str(image)], "softmax", str(parent))
    assert readings[str(image)].probabilities.shape == (1, 10)


def test_batch_norm_demo_refused_leaves_no_run(shared_tiny_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))
    assert command(["--data-dir", shared_tiny_dir, "--validation-size", "100",
                    "--batch-size", "1000"], batch_norm_demo) == 2
    assert "--batch-size 1000 is larger than the training set" in last_error_line(capsys)
    assert os.listdir(tmp_path / "runs" / "batch_norm_demo") == []


def test_a_code_of_one_number_is_drawn(shared_tiny_dir, tmp_path):
    result = autoencoder_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--code-size", "1",
                                               "--steps", "3"))
    assert result["test_codes"].shape == (200, 1)
    assert (tmp_path / "codes.png").stat().st_size > 1000


def test_batch_norm_demo_needs_validation_images_to_draw_on(shared_tiny_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        batch_norm_demo.main(["--data-dir", shared_tiny_dir, "--validation-size", "0",
                              "--run-dir", str(tmp_path / "run")])
    assert "--validation-size: '0' is not a whole number from 1" in last_error_line(capsys)
    result = batch_norm_demo.main(["--data-dir", shared_tiny_dir, "--validation-size", "100",
                                   "--batch-size", "50", "--epochs", "0.2", "--depth", "2",
                                   "--run-dir", str(tmp_path / "run")])
    assert sorted(result["pictures"]) == ["loss_curves", "pre_activations"]


@pytest.mark.parametrize("script, flags, words", [
    (mlp_mnist, ["--hidden", "100000,100000"], "--hidden 100000,100000 needs"),
    (autoencoder_mnist, ["--code-size", "1000000000"], "--code-size 1000000000 needs"),
])
def test_models_too_large_for_memory_are_refused(shared_tiny_dir, tmp_path, capsys, script,
                                                 flags, words):
    assert command(tiny_flags(shared_tiny_dir, tmp_path / "run", *flags), script) == 2
    line = last_error_line(capsys)
    assert words in line and "this machine has" in line
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------
# Images.

def test_a_nan_pixel_is_one_line_and_the_next_image_is_read(shared_tiny_dir, tmp_path,
                                                            capsys):
    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    for name, value in (("nan.tiff", np.nan), ("inf.tiff", np.inf)):
        pixels = np.full((50, 50), 200, np.float32)
        pixels[10, 10] = value
        Image.fromarray(pixels, "F").save(str(tmp_path / name))
    good = tmp_path / "good.png"
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 10)).save(str(good))
    capsys.readouterr()
    paths = [str(tmp_path / "nan.tiff"), str(tmp_path / "inf.tiff"), str(good)]
    assert classify.main([*paths, "--model", "softmax", "--run-dir", str(run_dir)]) == 1
    out, err = capsys.readouterr()
    assert after_the_model_line(err).splitlines() == [
        "%s: error: holds pixels that are not numbers (NaN or infinity)" % path
        for path in paths[:2]]
    assert out.startswith(str(good) + ": ")


@pytest.mark.slow
@needs_vmhwm
def test_a_huge_plain_image_is_read_in_bounded_memory(tmp_path):
    Image.new("RGB", (7000, 7000), (255, 255, 255)).save(str(tmp_path / "white.png"))
    grown_mb, shape, _ = memory_growth_mb("from tfmnist.photos.image_files import read_image",
                                          "read_image(sys.argv[1])", tmp_path / "white.png")
    assert grown_mb < 400  # the 8-bit image decoded once, then reduced: not 1.5 GB of floats
    assert shape == (1750, 1750, 3)


def test_a_small_digit_in_a_large_photo_is_found(tmp_path):
    from PIL import ImageDraw

    from tfmnist.photos.digits import to_mnist
    from tfmnist.photos.image_files import read_image

    photo = Image.new("L", (4000, 3000), 235)
    ImageDraw.Draw(photo).line([(2000, 1500), (2024, 1500), (2008, 1540)], fill=30, width=4)
    photo.save(str(tmp_path / "small.jpg"), quality=90)  # a 7, 40 px tall, strokes of 4 px
    digit = to_mnist(read_image(str(tmp_path / "small.jpg")))
    rows, cols = np.nonzero(digit > 0.5)
    assert np.ptp(rows) + 1 >= 18  # scaled to MNIST's 20-pixel box, not a blur of 3 pixels
    assert digit[rows.min(), cols].mean() > 0.5  # the 7's bar along its top


def test_a_speck_of_ink_is_no_digit():
    from tfmnist.photos.digits import to_mnist
    from tfmnist.photos.image_files import ImageError

    pixels = np.full((50, 50, 1), 255.0, np.float32)
    pixels[20, 20] = 0
    with pytest.raises(ImageError, match="blank: only a speck of ink, too small to be a digit"):
        to_mnist(pixels)


# ---------------------------------------------------------------------------------------------
# The benchmark's flags.

@pytest.mark.parametrize("argv, words", [
    (["classify-png", "-2"], "argument N: '-2' is not a whole number from 1 to 10^9"),
    (["draw-strokes", "0"], "argument N: '0' is not a whole number from 1 to 10^9"),
    (["photos", "x"], "argument N: 'x' is not a whole number from 1 to 10^9"),
    (["paired", "cnn", "--torch-python", "/nonexistent"],
     "argument --torch-python: '/nonexistent' is not a Python interpreter one can run"),
    (["paired", "softmax", "--torch-python", sys.executable], "'softmax' is not one of cnn, rnn"),
    (["train", "--torch-python", "/nonexistent"], "is not a Python interpreter one can run"),
    (["--classify-png", "0"], "invalid choice"),
    (["profile", "mlp"], "argument model: invalid choice: 'mlp'"),
    (["profile", "rnn", "--chains", "0"], "argument --chains: '0' is not a whole number"),
    ([], "the following arguments are required: COMMAND"),
])
def test_benchmark_refuses_bad_flags_in_one_line(capsys, argv, words):
    import benchmark

    with pytest.raises(SystemExit) as exit_info:
        benchmark.build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert words in last_error_line(capsys)


def test_benchmark_parses_its_flags_before_tensorflow_loads():
    code = ("import sys; sys.path[:0] = [%r, %r]; import benchmark\n"
            "try:\n    benchmark.main(['classify-png', '-2'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow loaded'"
            % (REPO_DIR, os.path.join(REPO_DIR, "tools")))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_benchmark_names_a_run_dir_that_is_not_there(capsys):
    import benchmark

    assert command(["classify-png", "5", "--run-dir", "/nonexistent"], benchmark) == 2
    assert capsys.readouterr().err == (
        "benchmark.py: error: no trained cnn model in /nonexistent: train one first with "
        "`python cnn_mnist.py`\n")


# ---------------------------------------------------------------------------------------------
# The latest hostile testing (issue 29).

def test_transfer_never_writes_into_another_run(shared_tiny_dir, tmp_path, capsys):
    import transfer_mnist

    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    index = (run_dir / "checkpoint").read_text()
    assert command(["--data-dir", shared_tiny_dir, "--labels", "50", "--source-steps", "2",
                    "--steps", "2", "--run-dir", str(run_dir)], transfer_mnist) == 2
    assert "holds another run" in last_error_line(capsys)
    assert (run_dir / "checkpoint").read_text() == index
    assert not glob.glob(str(run_dir / "source.ckpt*"))
    assert softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3",
                                         "--eval-only"))["global_step"] == 3


def write_digits(directory, train_labels, test_labels):
    """Tiny IDX data whose training and test digits are these labels."""
    import gzip

    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, labels in ((input_data.TRAIN_LABELS, train_labels),
                         (input_data.TEST_LABELS, test_labels)):
        images = rng.integers(0, 255, size=(len(labels), 28, 28))
        images_name = (input_data.TRAIN_IMAGES if name == input_data.TRAIN_LABELS
                       else input_data.TEST_IMAGES)
        for file_name, array in ((images_name, images), (name, np.array(labels))):
            with open(os.path.join(directory, file_name + ".gz"), "wb") as f:
                f.write(gzip.compress(idx_bytes(array)))
    return str(directory)


@pytest.mark.parametrize("train_labels, test_labels, target, words", [
    ([5, 6, 7, 8, 9] * 20, [5, 6, 7, 8, 9] * 4, False,
     "there are no training images of digits 0-4 in"),
    ([0, 1, 2, 3, 4, 5] * 20, [0, 1, 2, 3, 4, 5] * 4, True,
     "there are no test images of the target classes 0, 1"),
    ([0, 1, 2, 3, 4] * 20, list(range(10)) * 4, False,
     "there are no training images of the target classes 5, 6, 7, 8, 9"),
])
def test_transfer_on_data_without_the_digits_it_needs_is_one_line(
        tmp_path, capsys, train_labels, test_labels, target, words):
    import transfer_mnist

    data = write_digits(tmp_path / "data", train_labels, test_labels)
    argv = ["--data-dir", data, "--labels", "10", "--source-steps", "1", "--steps", "1",
            "--run-dir", str(tmp_path / "run")]
    if target:  # its training digits are 0 and 1; its test digits 2 and 3
        argv += ["--target-data-dir", write_digits(tmp_path / "target", [0, 1] * 10,
                                                   [2, 3] * 5)]
    assert command(argv, transfer_mnist) == 2
    assert words in last_error_line(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("depth", ["1000000000", "101", "0"])
def test_batch_norm_demo_refuses_a_depth_it_cannot_build(capsys, depth):
    with pytest.raises(SystemExit) as exit_info:
        batch_norm_demo.build_parser().parse_args(["--depth", depth])
    assert exit_info.value.code == 2
    assert "is not a number of layers from 1 to 100" in capsys.readouterr().err


def test_an_export_target_that_cannot_be_written_is_refused_before_training(
        shared_tiny_dir, tmp_path, capsys):
    assert command(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3", "--export",
                              "/proc/no/such/place")) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == ("softmax_mnist.py: error: --export "
                                            "/proc/no/such/place: cannot write there: No "
                                            "such file or directory")
    assert "step" not in err and not (tmp_path / "run").exists()
    (tmp_path / "notes.txt").write_text("a file, not a directory")
    assert command(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3", "--export",
                              str(tmp_path / "notes.txt" / "x"))) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "softmax_mnist.py: error: --export %s: %s is not a directory"
        % (tmp_path / "notes.txt" / "x", tmp_path / "notes.txt"))
    assert not (tmp_path / "run").exists()


def test_classify_answers_each_file_as_it_is_read(shared_tiny_dir, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    paths = []
    for index in range(3):
        paths.append(str(tmp_path / ("%d.png" % index)))
        Image.fromarray(np.full((40, 40), 255, np.uint8)).save(paths[-1])
        Image.open(paths[-1]).close()
    pixels = np.full((40, 40, 1), 255, np.uint8)
    pixels[10:30, 18:22] = 0
    read = []
    monkeypatch.setattr(classify, "read_image", lambda path: (read.append(path), pixels)[1])
    answers = classify.readings(paths, "softmax", str(run_dir))
    path, first = next(answers)
    assert (path, read) == (paths[0], paths[:1])  # answered before the next file is read
    assert first.probabilities.shape == (1, 10)
    assert [path for path, _ in answers] == paths[1:]


def test_many_separate_dots_get_the_note_of_separate_marks(shared_tiny_dir, tmp_path):
    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    page = np.full((120, 600), 255, np.uint8)
    rng = np.random.default_rng(0)
    for row, col in zip(rng.integers(5, 110, 200), rng.integers(5, 590, 200)):
        page[row:row + 3, col:col + 3] = 0  # 200 dots, some touching
    path = str(tmp_path / "dots.png")
    Image.fromarray(page).save(path)
    reading = classify.classify([path], "softmax", str(run_dir))[path]
    assert reading.note is not None and "separate marks" in reading.note, reading


# ---------------------------------------------------------------------------------------------
# Hostile inputs, as a table: every file a training run reads, and the cluster's inputs, each
# made a pipe, a device, a loop, a directory, far larger than its format allows or nested too
# deeply. Each is one line and exit status 2, within seconds, without reading it whole.

def _fifo(path):
    os.mkfifo(path)


def _dev_zero(path):
    os.symlink("/dev/zero", path)


def _loop(path):
    os.symlink(os.path.basename(path), path)  # a link to itself


def _directory(path):
    os.mkdir(path)


def _sparse(path):
    with open(path, "wb") as f:
        f.truncate(3 << 30)  # 3 GB of nothing, on no disk


def _nested(path):
    with open(path, "w") as f:
        f.write("[" * 100000)


def _sparse_behind_a_header(path):
    """A raw IDX file with a valid header for the tiny set's 600 images, 3 GB long."""
    with open(path, "wb") as f:
        f.write(idx_bytes(np.zeros((TINY_TRAIN, 28, 28), np.uint8))[:16])
        f.truncate(3 << 30)


def _gzip_bomb(path):
    """A .gz of a valid header followed by 1 GB of zeros: a few MB that inflate far beyond."""
    import zlib

    # The gzip format; level 1: 4.7 MB, made in 1.7 s (level 9: 1.0 MB, in 5.4 s).
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(1 << 24)
    with open(path, "wb") as f:
        f.write(compressor.compress(idx_bytes(np.zeros((TINY_TRAIN, 28, 28), np.uint8))[:16]))
        for _ in range(64):
            f.write(compressor.compress(chunk))
        f.write(compressor.flush())


RUN_FILE_CASES = [(name, make) for name in ("config.json", "checkpoint") for make in (
    _fifo, _dev_zero, _loop, _directory, _sparse, _nested)]
DATA_FILE_CASES = [("train-images-idx3-ubyte.gz", make) for make in (
    _fifo, _dev_zero, _directory, _gzip_bomb)] + [
    ("train-images-idx3-ubyte", _sparse_behind_a_header)]


class _Hung(Exception):
    pass


def _within(seconds, run):
    """run(), or the test fails after `seconds`: a read that waits for ever must not hang it."""
    def hung(signum, frame):
        raise _Hung("no answer within %d s" % seconds)

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        return run()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name, make", RUN_FILE_CASES,
                         ids=["%s-%s" % (n, m.__name__.strip("_")) for n, m in RUN_FILE_CASES])
def test_a_hostile_run_file_is_one_line(shared_tiny_dir, tmp_path, capsys, name, make):
    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    os.remove(run_dir / name)
    make(str(run_dir / name))
    for flag in ("--resume", "--eval-only"):
        if name == "config.json" and flag == "--eval-only":
            continue  # the softmax's --eval-only reads no flags: the checkpoint is enough
        start = time.monotonic()
        assert _within(20, lambda: command(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3",
                                                      flag))) == 2
        assert time.monotonic() - start < 10
        line = last_error_line(capsys)
        assert name in line, line


@pytest.mark.parametrize("name, make", DATA_FILE_CASES,
                         ids=[m.__name__.strip("_") for _, m in DATA_FILE_CASES])
def test_a_hostile_data_file_is_one_line_read_no_further_than_its_header(
        tiny_dir, tmp_path, capsys, monkeypatch, name, make):
    os.remove(os.path.join(tiny_dir, "train-images-idx3-ubyte.gz"))
    make(os.path.join(tiny_dir, name))
    read = []  # the bytes each file gave: its header's worth and one more, not 1 or 3 GB
    decompress = input_data._decompress

    def counted(*args, **kwargs):
        read.append(decompress(*args, **kwargs))
        return read[-1]

    monkeypatch.setattr(input_data, "_decompress", counted)
    start = time.monotonic()
    assert _within(20, lambda: command(tiny_flags(tiny_dir, tmp_path / "run"))) == 2
    assert time.monotonic() - start < 10
    assert max(map(len, read), default=0) <= 16 + TINY_TRAIN * 28 * 28 + 1  # what the header says
    line = last_error_line(capsys)
    assert "train-images-idx3-ubyte" in line, line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("environment, argv, words", [
    ({"TF_CONFIG": "[" * 50000}, [], "TF_CONFIG is not JSON: nested too deeply"),
    ({}, ["--task-timeout", "nan"], "argument --task-timeout: 'nan' is not a positive number"),
    ({}, ["--task-timeout", "-1"], "argument --task-timeout: '-1' is not a positive number"),
    ({}, ["--task-timeout", "1e300"], "argument --task-timeout: '1e300' is not a positive"),
])
def test_a_hostile_cluster_input_is_one_line(monkeypatch, capsys, environment, argv, words):
    import distributed_mnist

    monkeypatch.delenv("TF_CONFIG", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert command(["--model", "softmax", "--no-save", *argv], distributed_mnist) == 2
    assert words in last_error_line(capsys)


@pytest.fixture(scope="module")
def tiny_softmax_run(shared_tiny_dir, tmp_path_factory):
    """A softmax run of 3 steps on tiny data, and its SavedModel: (run_dir, export_dir)."""
    run_dir = str(tmp_path_factory.mktemp("run"))
    export_dir = os.path.join(str(tmp_path_factory.mktemp("export")), "model")
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3", "--export",
                                  export_dir))
    return run_dir, export_dir


def _empty(path):
    open(path, "wb").close()


IMAGE_CASES = [(_fifo, "not an image file: a pipe or a socket"),
               (_dev_zero, "too large (over 50 MB)"),  # a device: read as far as that
               (_loop, "Too many levels of symbolic links"),
               (_directory, "cannot read: Is a directory"),
               (_sparse, "too large (over 50 MB)"),
               (_empty, "empty file")]


@pytest.mark.parametrize("make, words", IMAGE_CASES,
                         ids=[m.__name__.strip("_") for m, _ in IMAGE_CASES])
def test_a_hostile_image_is_one_line_and_the_next_is_read(tiny_softmax_run, tmp_path, capsys,
                                                          make, words):
    run_dir, _ = tiny_softmax_run
    hostile = tmp_path / "hostile.png"
    make(str(hostile))
    digit = tmp_path / "seven.png"
    pixels = np.full((40, 40), 255, np.uint8)
    pixels[8:32, 18:22] = 0
    Image.fromarray(pixels).save(digit)
    capsys.readouterr()
    started = time.monotonic()
    assert _within(20, lambda: classify.main([str(hostile), str(digit), "--model", "softmax",
                                              "--run-dir", run_dir])) == 1
    assert time.monotonic() - started < 10  # not 3 GB, nor an endless stream, read
    out, err = capsys.readouterr()
    [line] = after_the_model_line(err).splitlines()
    assert line.startswith("%s: error: " % hostile) and words in line, line
    assert out.startswith(str(digit) + ": ")


SAVED_MODEL_CASES = [_fifo, _dev_zero, _loop, _directory, _sparse]


@pytest.mark.parametrize("make", SAVED_MODEL_CASES,
                         ids=[m.__name__.strip("_") for m in SAVED_MODEL_CASES])
def test_a_hostile_saved_model_is_one_line(tiny_softmax_run, tmp_path, capsys, make):
    import shutil

    export_dir = tmp_path / "model"
    shutil.copytree(tiny_softmax_run[1], str(export_dir))
    os.remove(export_dir / "saved_model.pb")
    make(str(export_dir / "saved_model.pb"))
    started = time.monotonic()
    assert _within(20, lambda: command(["anything.png", "--model", "softmax", "--run-dir",
                                        str(export_dir)], classify)) == 2
    assert time.monotonic() - started < 10
    line = last_error_line(capsys)
    assert str(export_dir) in line, line


# Every number flag of every program, written as Python's int() and float() take it but a
# person would not mean: one line naming the flag, exit status 2.
NUMBER_FLAGS = [
    ("softmax_mnist", "--steps"), ("softmax_mnist", "--learning-rate"),
    ("softmax_mnist", "--seed"), ("softmax_mnist", "--threads"),
    ("softmax_mnist", "--validation-size"), ("cnn_mnist", "--max-shift"),
    ("cnn_mnist", "--max-turn"), ("mlp_mnist", "--keep-prob"), ("batch_norm_demo", "--depth"),
    ("cluster", "--ps"), ("cluster", "--workers"), ("draw", "--port"),
    ("distributed_mnist", "--task-index"), ("distributed_mnist", "--task-timeout"),
]
UNMEANT_NUMBERS = ["\u0663", "\uff17", "1_000", " 7", "010", "nan", "inf", "-1", "1e300", ""]


@pytest.mark.parametrize("program, flag", NUMBER_FLAGS,
                         ids=["%s%s" % (program, flag) for program, flag in NUMBER_FLAGS])
def test_a_number_flag_takes_plain_numbers_only(capsys, program, flag):
    import importlib

    parser = importlib.import_module(program).build_parser()
    for text in UNMEANT_NUMBERS:
        argv = [flag, text] + (["--model", "softmax"] if program == "distributed_mnist" else [])
        with pytest.raises(SystemExit) as exit:
            parser.parse_args(["softmax"] + argv if program == "cluster" else argv)
        assert exit.value.code == 2, text
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("%s: error: argument %s: %r is not " % (
            parser.prog, flag, text)), (text, err)
