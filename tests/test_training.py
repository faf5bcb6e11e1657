"""The shared harness, through softmax_mnist.py (the quickest script): run directories,
checkpoints, --resume, --eval-only, figures, and one-line errors on the command line."""
import glob
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import (REPO_DIR, command, interrupt_at_call, last_error_line, tiny_flags,
                      unwritable_dir)
import input_data
import softmax_mnist
from tfmnist import checkpoints, classifiers, rundirs
from tfmnist.command_line import UsageError
from tfmnist.tf1 import tf


def snapshot(directory):
    """{file name: bytes} of a directory, to show that nothing in it changed."""
    return {name: open(os.path.join(directory, name), "rb").read()
            for name in sorted(os.listdir(directory)) if name != rundirs.LOCK_FILE}


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """Points the default runs/ at a temporary directory; returns runs/softmax_mnist there."""
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))
    return str(tmp_path / "runs" / "softmax_mnist")


def default_flags(data_dir, *extra):
    """tiny_flags without --run-dir: the runs go where they go by default."""
    return ["--data-dir", data_dir, "--validation-size", "100", "--batch-size", "50",
            "--log-every", "1000", *extra]


# ---------------------------------------------------------------------------------------------
# A run directory holds one run.

def test_a_new_run_is_refused_where_another_run_is(shared_tiny_dir, tmp_path, capsys):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "12"))
    before = snapshot(tmp_path)
    code = command(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "10", "--learning-rate",
                              "0.1"))
    assert code == 2
    assert last_error_line(capsys) == (
        "softmax_mnist.py: error: --run-dir %s holds another run: --resume continues it; a new "
        "run needs a new or empty --run-dir (or none, for the next numbered run in runs/)"
        % tmp_path)
    assert snapshot(tmp_path) == before  # its flags, checkpoints and logs untouched


def test_default_runs_are_numbered_and_the_newest_is_found(shared_tiny_dir, runs_root):
    first = softmax_mnist.main(default_flags(shared_tiny_dir, "--steps", "3"))
    second = softmax_mnist.main(default_flags(shared_tiny_dir, "--steps", "4"))
    assert first["run_dir"] == os.path.join(runs_root, "1")
    assert second["run_dir"] == os.path.join(runs_root, "2")
    assert first["checkpoint"].startswith(first["run_dir"])
    # A third run killed before its first checkpoint left its flags only.
    os.makedirs(os.path.join(runs_root, "3"))
    with open(os.path.join(runs_root, "3", rundirs.CONFIG_FILE), "w") as f:
        f.write("{}")

    evaluated = softmax_mnist.main(default_flags(shared_tiny_dir, "--eval-only"))
    assert evaluated["run_dir"] == second["run_dir"]
    assert evaluated["test_accuracy"] == second["test_accuracy"]
    assert classifiers.run_dir_of("softmax") == second["run_dir"]
    with pytest.raises(UsageError, match="no checkpoint in .*3: the run there "
                                                      "stopped before its first checkpoint"):
        softmax_mnist.main(default_flags(shared_tiny_dir, "--steps", "4", "--resume"))
    shutil.rmtree(os.path.join(runs_root, "3"))
    resumed = softmax_mnist.main(default_flags(shared_tiny_dir, "--steps", "4", "--resume"))
    assert resumed["run_dir"] == second["run_dir"] and resumed["losses"] == []


def test_no_run_to_evaluate_says_how_to_train_one(shared_tiny_dir, runs_root):
    with pytest.raises(UsageError, match="no run in .*softmax_mnist to evaluate: "
                                                      "train one first with `python "
                                                      "softmax_mnist.py`"):
        softmax_mnist.main(default_flags(shared_tiny_dir, "--eval-only"))


def test_two_processes_never_train_in_one_directory(shared_tiny_dir, tmp_path, capsys):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3"))
    lock = rundirs.Lock(str(tmp_path / "run"))  # as another process training there would
    try:
        for extra in ([], ["--resume"]):
            assert command(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3",
                                      *extra)) == 2
            assert last_error_line(capsys) == (
                "softmax_mnist.py: error: %s is in use: process %d is training in it; wait for "
                "it to end, or choose another --run-dir" % (tmp_path / "run", os.getpid()))
    finally:
        lock.close()
    assert softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3",
                                         "--resume"))["global_step"] == 3


@pytest.mark.parametrize("where", ["default", "new", "empty"])
def test_a_new_run_stopped_before_its_first_checkpoint_leaves_nothing(
        shared_tiny_dir, tmp_path, runs_root, monkeypatch, where):
    run_dir = {"default": None, "new": tmp_path / "new", "empty": tmp_path / "empty"}[where]
    if where == "empty":
        run_dir.mkdir()
    flags = (default_flags(shared_tiny_dir, "--steps", "25") if run_dir is None
             else tiny_flags(shared_tiny_dir, run_dir, "--steps", "25"))
    interrupt_at_call(monkeypatch, 3)  # the first checkpoint comes after step 10
    with pytest.raises(KeyboardInterrupt):
        softmax_mnist.main(flags)
    if where == "default":
        assert os.listdir(runs_root) == []
    elif where == "new":
        assert not run_dir.exists()
    else:
        assert run_dir.is_dir() and os.listdir(run_dir) == []  # the user's directory stays


def test_resume_needs_the_flags_the_run_started_with(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    resume = tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3", "--resume")
    config = tmp_path / rundirs.CONFIG_FILE
    config.write_text('{"batch_size": 50, ')  # cut short
    with pytest.raises(UsageError, match=r"config.json is damaged \(.*\): it holds the "
                                                 "flags the run was started with"):
        softmax_mnist.main(resume)
    config.unlink()
    with pytest.raises(UsageError, match="config.json is missing"):
        softmax_mnist.main(resume)
    # Evaluating needs no flags: the checkpoint is enough.
    evaluated = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))
    assert evaluated["global_step"] == 3 and evaluated["losses"] == []


def test_resume_refuses_other_schedule_flags(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    with pytest.raises(UsageError, match=r"--learning-rate 0\.1 \(was 1\.0\)"):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3", "--resume",
                                      "--learning-rate", "0.1"))


# ---------------------------------------------------------------------------------------------
# Damaged checkpoints are named, with the real cause.

def _damage_data(prefix, index):
    with open(prefix + ".data-00000-of-00001", "r+b") as f:
        f.truncate(10)


def _delete_data(prefix, index):
    os.remove(prefix + ".data-00000-of-00001")


def _scramble_index(prefix, index):
    with open(index, "w") as f:
        f.write("this is not a checkpoint index {{{")


def _delete_index(prefix, index):
    os.remove(index)


@pytest.mark.parametrize("damage, message", [
    (_damage_data, r"cannot restore checkpoint {prefix}: (?!Graph execution error).+"),
    (_delete_data, r"checkpoint {prefix} is incomplete: its data file "
                   r"{prefix}\.data-00000-of-00001 is missing"),
    (_scramble_index, r"{index} is damaged: it names no checkpoint; the newest checkpoint "
                      r"there is {prefix}"),
    (_delete_index, r"{index} is missing: it names the checkpoint to restore; the newest "
                    r"checkpoint there is {prefix}"),
])
def test_a_damaged_checkpoint_is_named_with_its_cause(shared_tiny_dir, tmp_path, capsys,
                                                      damage, message):
    result = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "2"))
    prefix, index = result["checkpoint"], str(tmp_path / "checkpoint")
    damage(prefix, index)
    assert command(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only")) == 2
    line = last_error_line(capsys)
    assert re.fullmatch("softmax_mnist.py: error: " + message.format(
        prefix=re.escape(prefix), index=re.escape(index)), line), line


def test_what_a_killed_save_left_is_removed_when_the_run_resumes(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    leftovers = ["model.ckpt-4_temp", "model.ckpt-4.data-00000-of-00001.tempstate8161",
                 "checkpoint.tmp0a1b2c", "config.json.x1y2.tmp"]
    os.mkdir(tmp_path / leftovers[0])
    (tmp_path / leftovers[0] / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x" * 99)
    for name in leftovers[1:]:
        (tmp_path / name).write_bytes(b"x" * 99)
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3", "--resume"))
    assert not set(leftovers) & set(os.listdir(tmp_path))


# ---------------------------------------------------------------------------------------------
# Filesystem faults, found before training where they can be.

@pytest.mark.parametrize("case", ["a file", "under a file", "cannot be created", "unwritable"])
def test_a_run_dir_that_cannot_be_used_is_one_line(shared_tiny_dir, tmp_path, capsys, case):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    run_dir, words = {
        "a file": (str(a_file), "--run-dir %s is a file, not a directory" % a_file),
        "under a file": (str(a_file / "run"), "--run-dir cannot create %s/run: Not a directory"
                         % a_file),
        "cannot be created": ("/sys/mnist-run", "--run-dir cannot create /sys/mnist-run: "
                                                "Operation not permitted"),
        "unwritable": (None, "cannot write in /sys: Permission denied"),
    }[case]
    if case in ("cannot be created", "unwritable"):
        unwritable_dir()
    assert command(tiny_flags(shared_tiny_dir, run_dir or "/sys", "--steps", "3")) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "training" not in out.out  # before any training
    assert out.err.splitlines()[-1] == "softmax_mnist.py: error: " + words
    assert a_file.read_text() == "x"


def test_a_disk_too_full_for_the_checkpoints_fails_before_training(
        shared_tiny_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(checkpoints.shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10 ** 9, 10 ** 9 - 100_000, 100_000))
    assert command(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3")) == 2
    out = capsys.readouterr()
    assert "step" not in out.out  # not a single step trained
    assert re.fullmatch(r"softmax_mnist.py: error: not enough free space for the checkpoints in "
                        r"\S+/run: 0\.1 MB free, \d\.\d MB needed", out.err.splitlines()[-1])
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_FSIZE")
@pytest.mark.parametrize("script, limit, words", [
    # The CNN's checkpoint (39 MB) cannot be written, its TensorBoard log (0.2 MB) can.
    ("cnn_mnist.py", 1 << 20, "cannot save a checkpoint in {run_dir}: .*File too large"),
    # The softmax model's log (36 kB with its graph) cannot be written.
    ("softmax_mnist.py", 20_000, "cannot write the TensorBoard log in {run_dir}: .*File too "
                                 "large"),
])
def test_a_full_disk_is_one_line_and_leaves_no_partial_files(shared_tiny_dir, tmp_path,
                                                             script, limit, words):
    import resource

    def small_files_only():  # every write past the limit fails, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO_DIR, script),
         *tiny_flags(shared_tiny_dir, run_dir, "--steps", "3")],
        capture_output=True, text=True, preexec_fn=small_files_only)
    assert result.returncode == 2
    last_line = result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr and re.fullmatch(
        "%s: error: " % script + words.format(run_dir=re.escape(str(run_dir))), last_line)
    assert not run_dir.exists()  # a new run that saved nothing leaves nothing


# ---------------------------------------------------------------------------------------------
# Flags.

@pytest.mark.parametrize("bad, words", [
    (["--batch-size", "0"], "--batch-size: '0' is not a whole number from 1 to 10^9"),
    (["--learning-rate", "-1"], "--learning-rate: '-1' is not a positive number below 10^9"),
    (["--epochs", "x"], "--epochs: 'x' is not a positive number below 10^9"),
    (["--epochs", "nan"], "--epochs: 'nan' is not a positive number below 10^9"),
    (["--steps", "9" * 20], "--steps: '%s' is not a whole number from 1 to 10^9" % ("9" * 20)),
    (["--epochs", "9" * 20], "--epochs: '%s' is not a positive number below 10^9" % ("9" * 20)),
    (["--log-every", "9" * 20], "--log-every: '%s' is not a whole number from 1 to 10^9"
     % ("9" * 20)),
    (["--threads", "9" * 20], "--threads: '%s' is not a number of threads from 0 to 1024"
     % ("9" * 20)),
    (["--seed", "-1"], "--seed: '-1' is not a whole number from 0 to 2^31 - 1"),
    (["--resume", "--eval-only"], "--resume and --eval-only cannot be used together"),
])
def test_bad_flags_are_refused_in_one_line(shared_tiny_dir, tmp_path, capsys, bad, words):
    assert command(tiny_flags(shared_tiny_dir, tmp_path) + bad) == 2
    last_line = last_error_line(capsys)
    assert last_line.startswith("softmax_mnist.py: error: ") and words in last_line


@pytest.mark.parametrize("bad, words", [
    (["--epochs", "500000000"], "--epochs 5e+08 is 5000000000 steps of 50, more than 10^9"),
    (["--validation-size", "9999"], "--validation-size: validation_size must be between 0 "
                                    "and 600"),
    (["--batch-size", "501"], "--batch-size 501 is larger than the training set (500 examples)"),
])
def test_flags_that_do_not_fit_the_data_are_refused(shared_tiny_dir, tmp_path, capsys, bad,
                                                   words):
    assert command(tiny_flags(shared_tiny_dir, tmp_path) + bad) == 2
    assert words in last_error_line(capsys)
    assert not os.listdir(tmp_path)


def test_model_flags_are_checked_too(shared_tiny_dir, tmp_path, capsys):
    import cnn_mnist

    with pytest.raises(SystemExit):
        cnn_mnist.main(tiny_flags(shared_tiny_dir, tmp_path) + ["--keep-prob", "0"])
    assert "--keep-prob: '0' is not a probability in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cnn_mnist.main(tiny_flags(shared_tiny_dir, tmp_path) + ["--max-turn", "nan"])
    assert "--max-turn: 'nan' is not a number of degrees from 0 to 45" in capsys.readouterr().err
    import rnn_mnist

    with pytest.raises(SystemExit):
        rnn_mnist.main(tiny_flags(shared_tiny_dir, tmp_path) + ["--max-shift", "5"])
    assert ("--max-shift: '5' is not a whole number of pixels from 0 to 4"
            in capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------
# The schedule: epochs, and what a run leaves.

def test_epochs_fractions_and_resume_under_epochs(shared_tiny_dir, tmp_path, monkeypatch,
                                                  capsys):
    # 500 training images in batches of 50: 10 steps an epoch, so 1.5 epochs are 15 steps,
    # validated and saved after step 10 (the end of the first epoch) and step 15 (the last).
    flags = ["--epochs", "1.5", "--learning-rate", "0.5"]
    whole = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "whole", *flags))
    assert whole["global_step"] == 15 and len(whole["losses"]) == 15
    assert capsys.readouterr().out.count("validation accuracy") == 2
    assert sorted(glob.glob(str(tmp_path / "whole" / "model.ckpt-*.index"))) == [
        str(tmp_path / "whole" / ("model.ckpt-%d.index" % step)) for step in (10, 15)]

    interrupt_at_call(monkeypatch, 13)
    with pytest.raises(KeyboardInterrupt):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "split", *flags))
    monkeypatch.undo()
    rest = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "split", *flags,
                                         "--resume"))
    assert rest["global_step"] == 15
    np.testing.assert_allclose(rest["losses"], whole["losses"][10:], rtol=1e-6)
    assert rest["test_accuracy"] == whole["test_accuracy"]


def test_metrics_json_holds_the_figures_of_the_run(shared_tiny_dir, tmp_path):
    result = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "12"))
    with open(tmp_path / rundirs.METRICS_FILE) as f:
        metrics = json.load(f)
    assert metrics == {name: result[name] for name in metrics}
    assert set(metrics) >= {"test_accuracy", "validation_accuracy", "global_step",
                            "train_seconds", "train_images_per_s", "checkpoint"}
    assert metrics["global_step"] == 12 and metrics["train_images_per_s"] > 0


def test_the_tensorboard_writer_is_closed_however_the_run_ends(shared_tiny_dir, tmp_path,
                                                               monkeypatch):
    closed = []
    close = tf.summary.FileWriter.close
    monkeypatch.setattr(tf.summary.FileWriter, "close",
                        lambda self: closed.append(self) or close(self))
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "a", "--steps", "3"))
    assert len(closed) == 1
    interrupt_at_call(monkeypatch, 15)  # after the first checkpoint
    with pytest.raises(KeyboardInterrupt):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "b", "--steps", "25"))
    assert len(closed) == 2


# ---------------------------------------------------------------------------------------------
# The command line, in a process of its own.

def _run_script(*args):
    return subprocess.run([sys.executable, os.path.join(REPO_DIR, "softmax_mnist.py"), *args],
                          capture_output=True, text=True, cwd=REPO_DIR)


@pytest.mark.slow
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


@pytest.mark.slow
def test_command_line_trains_and_ends_with_the_test_accuracy(shared_tiny_dir, tmp_path):
    result = _run_script(*tiny_flags(shared_tiny_dir, tmp_path, "--steps", "10"))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"test accuracy: [01]\.\d{4}", result.stdout.splitlines()[-1])
    assert "images/s" in result.stdout and "validation accuracy" in result.stdout
    assert set(os.listdir(tmp_path)) >= {"checkpoint", rundirs.CONFIG_FILE, rundirs.METRICS_FILE,
                                         "model.ckpt-10.index"}


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads Linux's /proc")
@pytest.mark.parametrize("library", ["_multiarray_umath", "libtensorflow_framework"])
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_while_the_program_loads_is_one_line(shared_tiny_dir, tmp_path, library, how):
    """Also when Ctrl-C stops a compiled module as it loads, and the ImportError raised in its
    place hides the KeyboardInterrupt (a CI run caught TensorFlow's "initialization failed").

    Ctrl-C comes once NumPy's, then TensorFlow's, compiled library is in the process's memory,
    while the rest of it loads: the process's own map says when, not a sleep."""
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO_DIR, "softmax_mnist.py"),
         *tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_DIR)
    deadline = time.monotonic() + 60  # bounds a hang only
    while library not in open("/proc/%d/maps" % process.pid).read():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.002)
    process.send_signal(how)  # each signal that ends a program, alike
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted" in err and not (tmp_path / "run").exists()


def test_every_module_imports_tensorflow_through_tf1():
    """TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, as it loads: only tf1.py sets it, so only
    tf1.py may import TensorFlow, and the tests run the kernels users run. (estimator.py is
    for code people bring, which imports TensorFlow itself, with its own settings.)"""
    files = [path for folder in ("", "tfmnist", "tools", "tests")
             for path in glob.glob(os.path.join(REPO_DIR, folder, "*.py"))]
    importers = [os.path.basename(path) for path in files
                 if re.search(r"^\s*(import tensorflow|from tensorflow)", open(path).read(), re.M)]
    assert sorted(importers) == ["estimator.py", "tf1.py"]
    if tf.version.VERSION.startswith("1."):
        return  # TensorFlow 1.15 has no oneDNN switch: its wheel is built without it
    util_port = importlib.import_module("tensorflow.python.util._pywrap_util_port")
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1" and util_port.IsMklEnabled()


def test_resume_needs_as_many_batches_a_step_as_the_run_trained(shared_tiny_dir, tmp_path):
    # A run trained with --sync-replicas on 2 workers counts 2 batches a step; alone, or in
    # an asynchronous cluster, a step is one batch, and the schedule would not fit.
    flags = tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3")
    softmax_mnist.main(flags)
    config_path = tmp_path / "config.json"
    config = json.loads(config_path.read_text())
    assert config["replicas"] == 1
    config["replicas"] = 2
    config_path.write_text(json.dumps(config))
    with pytest.raises(UsageError, match=r"--resume here trains one batch a step, but .* was "
                                         r"trained with --sync-replicas on 2 workers \(2 "
                                         r"batches a step\), which its schedule counts"):
        softmax_mnist.main(flags + ["--resume"])
    config["replicas"] = 1
    config_path.write_text(json.dumps(config))
    assert softmax_mnist.main(flags + ["--resume"])["global_step"] == 3


def test_a_writer_that_cannot_close_does_not_hold_the_run(tmp_path, monkeypatch):
    """A signal that stops the run inside TensorBoard's writer can leave it unable to close
    (its thread dead, its queue miscounted): the run's end waits for it a bounded time, then
    goes on, rather than hang for ever; so does the program's end (command_line.end)."""
    from tfmnist import command_line, training

    monkeypatch.setattr(training, "CLOSE_SECONDS", 0.2)
    monkeypatch.setattr(command_line, "LEFT_RUNNING", [])
    writer = training.RunWriter(str(tmp_path), None, 0)
    stuck = threading.Event()
    real_close = writer._writer.close
    monkeypatch.setattr(writer._writer, "close", lambda: stuck.wait())  # never set
    started = time.perf_counter()
    writer.close()
    assert time.perf_counter() - started < 5
    [closing] = command_line.LEFT_RUNNING
    assert closing.is_alive()
    stuck.set()
    real_close()
