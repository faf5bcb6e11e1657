"""Tiny MNIST-shaped data sets, written by the tests themselves as IDX files.

Each class is a bright 6x6 square at its own place on a noisy background, so a model can
learn it in a few steps and beat chance by far.
"""
import functools
import gzip
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO_DIR, os.path.join(REPO_DIR, "tools")]  # photos.py, strokes.py

import input_data  # noqa: E402

TINY_TRAIN = 600
TINY_TEST = 200


@pytest.fixture(autouse=True)
def ctrl_c_as_in_a_terminal():
    """Tests press Ctrl-C on the programs they start, which must begin with SIGINT's default,
    as a terminal's foreground process does. pytest-xdist's workers ignore SIGINT when pytest
    runs as a background job of a shell without job control (`pytest -n 2 &` in a script, a
    CI runner), and a child inherits an ignored signal; a handler is reset in the child."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@functools.lru_cache(maxsize=None)
def bundled_mnist():
    """The bundled MNIST (data/), read once per test process for the tests that take real
    digits from it (each read makes 220 MB of float32 pixels); they only read its arrays."""
    return input_data.read_data_sets(input_data.DEFAULT_DATA_DIR, download=False)


def idx_bytes(array):
    """The IDX encoding of a uint8 array: magic 0x0000080N, big-endian dims, the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def synthetic_digits(count, seed):
    """(images uint8 [count, 28, 28], labels uint8 [count]): one learnable pattern per class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    images = rng.integers(0, 60, size=(count, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = 3 + 11 * (label // 5), 2 + 5 * (label % 5)
        images[i, row:row + 6, col:col + 6] = 255
    return images, labels


def write_idx_dir(directory, train_count=TINY_TRAIN, test_count=TINY_TEST, compress=True,
                  seed=0):
    """Writes the four IDX files into `directory` (NAME.gz, or raw NAME); returns the arrays."""
    os.makedirs(directory, exist_ok=True)
    train_images, train_labels = synthetic_digits(train_count, seed)
    test_images, test_labels = synthetic_digits(test_count, seed + 1)
    arrays = {input_data.TRAIN_IMAGES: train_images, input_data.TRAIN_LABELS: train_labels,
              input_data.TEST_IMAGES: test_images, input_data.TEST_LABELS: test_labels}
    for name, array in arrays.items():
        data = idx_bytes(array)
        if compress:
            with gzip.GzipFile(os.path.join(directory, name + ".gz"), "wb", mtime=0) as f:
                f.write(data)  # (gzip.compress takes mtime from Python 3.8 on)
        else:
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
    return arrays


@pytest.fixture
def tiny_dir(tmp_path):
    """A directory of tiny gzip IDX files; returns its path as a str."""
    directory = str(tmp_path / "tiny")
    write_idx_dir(directory)
    return directory


@pytest.fixture(scope="session")
def shared_tiny_dir(tmp_path_factory):
    """The same tiny data, written once for the tests that only read it."""
    directory = str(tmp_path_factory.mktemp("tiny"))
    write_idx_dir(directory)
    return directory


def tiny_flags(data_dir, run_dir, *extra):
    """Flags that run a script's real code path on tiny data in a few seconds."""
    return ["--data-dir", data_dir, "--run-dir", str(run_dir), "--validation-size", "100",
            "--batch-size", "50", "--log-every", "1000", *extra]


def interrupt_at_call(monkeypatch, call):
    """Makes the call-th next_batch raise KeyboardInterrupt, as Ctrl-C would."""
    next_batch = input_data.DataSet.next_batch
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return next_batch(self, *args, **kwargs)

    monkeypatch.setattr(input_data.DataSet, "next_batch", interrupted)


def unwritable_dir():
    """A directory that even root cannot write in (/sys), or a skip where there is none."""
    try:
        open("/sys/.probe", "a").close()
    except OSError:
        return "/sys"
    pytest.skip("no unwritable directory on this machine")


def command(argv, script=None):
    """Runs a script's main as its command line does (softmax_mnist's by default); returns
    the exit code."""
    from tfmnist.command_line import run_main

    if script is None:
        import softmax_mnist as script
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: script.main(argv), script.__name__ + ".py")
    return exit_info.value.code


def last_error_line(capsys):
    """The last line on stderr, which must hold no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


needs_vmhwm = pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                                 reason="reads Linux's VmHWM")


def memory_growth_mb(imports, expression, path):
    """Runs `imports`, then the array `expression` (sys.argv[1] is `path`) in a fresh Python
    process; returns (how many MB its memory's high-water mark grew by, the array's shape and
    largest value). VmHWM, since ru_maxrss would keep the parent's across exec."""
    code = (imports + "\nimport re, sys\n"
            "def high_water_kb():\n"
            "    status = open('/proc/self/status').read()\n"
            "    return int(re.search(r'VmHWM:\\s*(\\d+)', status)[1])\n"
            "before = high_water_kb()\n"
            "value = " + expression + "\n"
            "print((high_water_kb() - before) / 1024, *value.shape, value.max())\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, cwd=REPO_DIR)
    assert result.returncode == 0, result.stderr
    grown_mb, *rest = map(float, result.stdout.split())
    return grown_mb, tuple(rest[:-1]), rest[-1]


def after_the_model_line(err):
    """classify.py's stderr after its first line, which names the model that answers."""
    first, _, rest = err.partition("\n")
    assert first.startswith("classify.py: answering with "), err
    return rest
