"""The loader: what it returns, how it batches, what it refuses, how it downloads."""
import functools
import glob
import gzip
import hashlib
import http.server
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import (REPO_DIR, TINY_TEST, TINY_TRAIN, idx_bytes, unwritable_dir,
                      write_idx_dir)
import input_data


def test_sets_shapes_dtypes_and_scaling(shared_tiny_dir):
    mnist = input_data.read_data_sets(shared_tiny_dir, validation_size=100)
    assert [ds.num_examples for ds in mnist] == [TINY_TRAIN - 100, 100, TINY_TEST]
    for ds in mnist:
        assert ds.images.shape == (ds.num_examples, 784)
        assert ds.images.dtype == np.float32
        assert ds.images.min() >= 0.0 and ds.images.max() == 1.0
        assert ds.labels.shape == (ds.num_examples,)
        assert set(np.unique(ds.labels)) <= set(range(10))
        assert ds.epochs_completed == 0


def test_validation_is_the_first_training_examples(tmp_path):
    arrays = write_idx_dir(str(tmp_path))
    mnist = input_data.read_data_sets(str(tmp_path), validation_size=100, dtype=np.uint8)
    train_images = arrays[input_data.TRAIN_IMAGES].reshape(-1, 784)
    np.testing.assert_array_equal(mnist.validation.images, train_images[:100])
    np.testing.assert_array_equal(mnist.train.images, train_images[100:])
    np.testing.assert_array_equal(mnist.train.labels, arrays[input_data.TRAIN_LABELS][100:])
    # uint8 keeps the raw bytes; float32 is the same divided by 255.
    floats = input_data.read_data_sets(str(tmp_path), validation_size=100)
    np.testing.assert_allclose(floats.test.images * 255, mnist.test.images, atol=1e-4)


def test_one_hot_and_unflattened_images(shared_tiny_dir):
    mnist = input_data.read_data_sets(shared_tiny_dir, one_hot=True, reshape=False,
                                      validation_size=0)
    assert mnist.train.labels.shape == (TINY_TRAIN, 10)
    assert mnist.train.labels.dtype == np.float64  # as TF1's dense_to_one_hot makes them
    np.testing.assert_array_equal(mnist.train.labels.sum(axis=1), 1)
    assert mnist.train.images.shape == (TINY_TRAIN, 28, 28, 1)
    assert mnist.validation.num_examples == 0


def test_raw_uncompressed_files(tmp_path):
    write_idx_dir(str(tmp_path), compress=False)
    mnist = input_data.read_data_sets(str(tmp_path), validation_size=0)
    assert mnist.train.num_examples == TINY_TRAIN


def test_next_batch_serves_each_example_once_per_epoch_and_reshuffles(shared_tiny_dir):
    mnist = input_data.read_data_sets(shared_tiny_dir, validation_size=100, seed=3,
                                      dtype=np.uint8)
    train = mnist.train  # 500 examples: batches of 30 straddle the epoch boundaries
    # Identify each example by its row index in train.images.
    row_of = {row.tobytes(): i for i, row in enumerate(train.images)}
    assert len(row_of) == train.num_examples
    served = []
    while len(served) < 3 * train.num_examples:
        images, labels = train.next_batch(30)
        assert len(images) == 30
        for image, label in zip(images, labels):
            index = row_of[image.tobytes()]
            assert train.labels[index] == label
            served.append(index)
    epochs = [served[i * 500:(i + 1) * 500] for i in range(3)]
    for epoch in epochs:
        assert sorted(epoch) == list(range(500))
    assert epochs[0] != epochs[1] != epochs[2]
    assert epochs[0] != list(range(500))
    # The third epoch ended with the last batch: TF1 counts it when the next batch starts.
    assert train.epochs_completed == 2
    train.next_batch(1)
    assert train.epochs_completed == 3


def test_shuffling_is_seeded(shared_tiny_dir):
    def first_batches(seed):
        train = input_data.read_data_sets(shared_tiny_dir, validation_size=0, seed=seed).train
        return np.concatenate([train.next_batch(100)[1] for _ in range(8)])

    np.testing.assert_array_equal(first_batches(1), first_batches(1))
    assert not np.array_equal(first_batches(1), first_batches(2))


def test_skip_matches_next_batch(shared_tiny_dir):
    def fresh():
        return input_data.read_data_sets(shared_tiny_dir, validation_size=0, seed=5).train

    walked, skipped = fresh(), fresh()
    for _ in range(13):
        walked.next_batch(70)
    skipped.skip(13 * 70)
    assert skipped.epochs_completed == walked.epochs_completed == 1
    np.testing.assert_array_equal(skipped.next_batch(70)[1], walked.next_batch(70)[1])


def test_unshuffled_batches_keep_the_file_order(shared_tiny_dir):
    train = input_data.read_data_sets(shared_tiny_dir, validation_size=0).train
    labels = np.concatenate([train.next_batch(240, shuffle=False)[1] for _ in range(5)])
    np.testing.assert_array_equal(labels, np.concatenate([train.labels, train.labels]))


def test_bundled_data_is_mnist(capsys):
    mnist = input_data.read_data_sets(os.path.join(REPO_DIR, "data"), download=False)
    assert [ds.num_examples for ds in mnist] == [55000, 5000, 10000]
    assert np.bincount(mnist.test.labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert capsys.readouterr().err == ""  # checksums match: no notice


def test_other_data_in_the_same_format_is_used_with_a_notice(shared_tiny_dir, capsys):
    input_data.read_data_sets(shared_tiny_dir, validation_size=0)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "notice:" in err and "is not MNIST" in err and shared_tiny_dir in err


# Each corruption: (file to damage, how, words the error must contain).
def _rewrite_gz(path, edit):
    with gzip.open(path) as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(gzip.compress(edit(data)))


def _set_label(data):
    return data[:8] + bytes([12]) + data[9:]


CORRUPTIONS = {
    "not gzip": (input_data.TRAIN_IMAGES, lambda p: open(p, "wb").write(b"hello, world"),
                 "not a valid gzip file"),
    "truncated gzip": (input_data.TEST_IMAGES,
                       lambda p: open(p, "r+b").truncate(os.path.getsize(p) // 2),
                       "not a valid gzip file"),
    "wrong magic": (input_data.TRAIN_LABELS,
                    lambda p: _rewrite_gz(p, lambda d: b"\x00\x00\x08\x03" + d[4:]),
                    "wrong magic number"),
    "short payload": (input_data.TRAIN_IMAGES, lambda p: _rewrite_gz(p, lambda d: d[:-100]),
                      "truncated"),
    "trailing bytes": (input_data.TEST_LABELS, lambda p: _rewrite_gz(p, lambda d: d + b"xy"),
                       "bytes past the end"),
    "empty file": (input_data.TEST_LABELS, lambda p: _rewrite_gz(p, lambda d: b""),
                   "too short for an IDX header"),
    "label outside 0-9": (input_data.TRAIN_LABELS, lambda p: _rewrite_gz(p, _set_label),
                          "label 12 at index 0 is outside 0-9"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_file_is_refused_naming_it(tiny_dir, case):
    name, damage, words = CORRUPTIONS[case]
    path = os.path.join(tiny_dir, name + ".gz")
    damage(path)
    with pytest.raises(input_data.DataError) as error:
        input_data.read_data_sets(tiny_dir, download=False)
    message = str(error.value)
    assert path in message and words in message and "\n" not in message


def test_image_and_label_counts_must_agree(tiny_dir):
    path = os.path.join(tiny_dir, input_data.TEST_LABELS + ".gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(idx_bytes(np.zeros(TINY_TEST - 1, np.uint8))))
    with pytest.raises(input_data.DataError, match="holds %d images but .* holds %d labels"
                       % (TINY_TEST, TINY_TEST - 1)):
        input_data.read_data_sets(tiny_dir, download=False)


def test_a_file_of_no_images_is_refused(tiny_dir):
    path = os.path.join(tiny_dir, input_data.TEST_IMAGES + ".gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    with pytest.raises(input_data.DataError, match="holds no images"):
        input_data.read_data_sets(tiny_dir, download=False)


def test_images_must_be_28x28(tiny_dir):
    path = os.path.join(tiny_dir, input_data.TEST_IMAGES + ".gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(idx_bytes(np.zeros((TINY_TEST, 32, 32), np.uint8))))
    with pytest.raises(input_data.DataError, match="images are 32x32, expected 28x28"):
        input_data.read_data_sets(tiny_dir, download=False)


def test_missing_files_without_download_are_listed(tiny_dir):
    os.remove(os.path.join(tiny_dir, input_data.TEST_LABELS + ".gz"))
    with pytest.raises(input_data.DataError, match="missing from .*: t10k-labels-idx1-ubyte.gz"):
        input_data.read_data_sets(tiny_dir, download=False)


def test_command_line_reports_a_corrupt_file_in_one_line(tiny_dir):
    path = os.path.join(tiny_dir, input_data.TRAIN_IMAGES + ".gz")
    open(path, "r+b").truncate(100)
    result = subprocess.run([sys.executable, os.path.join(REPO_DIR, "input_data.py"), tiny_dir],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and path in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# Downloads, from a server on 127.0.0.1 that serves files from a directory.

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/broken/"):
            self.send_error(500, "server error")
        else:
            super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www on a free local port; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1], root
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def tiny_checksums(monkeypatch, tmp_path):
    """Makes the tiny files the ones the loader expects; returns their directory."""
    source = str(tmp_path / "source")
    arrays = write_idx_dir(source)
    monkeypatch.setattr(input_data, "MNIST_SHA256", {
        name: hashlib.sha256(idx_bytes(array)).hexdigest() for name, array in arrays.items()})
    return source


def _publish(source, root, names=None):
    for name in names or input_data.MNIST_SHA256:
        with open(os.path.join(source, name + ".gz"), "rb") as f:
            (root / (name + ".gz")).write_bytes(f.read())


def test_missing_files_are_downloaded_from_the_next_mirror(server, tiny_checksums, tmp_path,
                                                            capsys):
    base, root = server
    _publish(tiny_checksums, root)
    target = str(tmp_path / "fresh" / "data")
    mirrors = [base + "/broken/", base + "/absent/", base + "/"]
    mnist = input_data.read_data_sets(target, validation_size=0, source_url=mirrors)
    assert mnist.train.num_examples == TINY_TRAIN
    assert sorted(os.listdir(target)) == sorted(n + ".gz" for n in input_data.MNIST_SHA256)
    err = capsys.readouterr().err
    assert "downloading %s/train-images-idx3-ubyte.gz" % base in err
    assert "100%" in err and "notice" not in err  # verified, so not flagged as "not MNIST"


def test_only_the_missing_files_are_downloaded(server, tiny_checksums, tmp_path):
    base, root = server
    _publish(tiny_checksums, root)
    target = str(tmp_path / "partial")
    write_idx_dir(target)
    missing = os.path.join(target, input_data.TEST_LABELS + ".gz")
    os.remove(missing)
    present = {path: (os.stat(path).st_mtime_ns, open(path, "rb").read())
               for path in glob.glob(os.path.join(target, "*.gz"))}
    assert len(present) == 3
    mnist = input_data.read_data_sets(target, source_url=base, validation_size=0)
    assert mnist.test.num_examples == TINY_TEST and os.path.isfile(missing)
    for path, (mtime, data) in present.items():  # left alone: not rewritten, not touched
        assert os.stat(path).st_mtime_ns == mtime and open(path, "rb").read() == data


def test_a_corrupt_download_is_refused_and_not_kept(server, tiny_checksums, tmp_path):
    base, root = server
    _publish(tiny_checksums, root)
    bad = root / (input_data.TRAIN_LABELS + ".gz")
    bad.write_bytes(gzip.compress(idx_bytes(np.ones(TINY_TRAIN, np.uint8))))
    target = tmp_path / "target"
    with pytest.raises(input_data.DataError) as error:
        input_data.read_data_sets(str(target), source_url=[base], validation_size=0)
    message = str(error.value)
    assert "train-labels-idx1-ubyte.gz" in message and "checksum mismatch" in message
    # Nothing half-verified stays behind: only the files that verified.
    assert not (target / (input_data.TRAIN_LABELS + ".gz")).exists()
    assert not [f for f in os.listdir(target) if f.endswith(".part")]


def test_a_server_error_is_reported(server, tiny_checksums, tmp_path):
    base, _ = server
    with pytest.raises(input_data.DataError, match="could not be fetched: .*(500|server "
                                                   "error)"):
        input_data.read_data_sets(str(tmp_path / "x"), source_url=base + "/broken/")
    assert not (tmp_path / "x").exists()  # no empty directory left behind


def test_offline_error_lists_every_missing_file_and_where_to_put_them(tmp_path):
    target = str(tmp_path / "nowhere")
    # A closed port on 127.0.0.1 fails at once, like a machine with no network.
    with pytest.raises(input_data.DataError) as error:
        input_data.read_data_sets(target, source_url="http://127.0.0.1:9/")
    message = str(error.value)
    assert "\n" not in message and target in message and "--data-dir" in message
    for name in input_data.MNIST_SHA256:
        assert name + ".gz" in message


# ---------------------------------------------------------------------------------------------
# The tutorials' own code, and faults of the data directory.

def test_tutorial_code_runs_offline_from_any_directory(tmp_path, monkeypatch, capsys):
    """`read_data_sets("MNIST_data/")`, verbatim from a tutorial, run where a notebook runs:
    the bundled, verified copy is the first mirror, so nothing is downloaded."""
    monkeypatch.chdir(tmp_path)
    mnist = input_data.read_data_sets("MNIST_data/", one_hot=True, source_url=(
        input_data.DEFAULT_DATA_DIR, "http://127.0.0.1:9/"))  # a closed port: no network
    assert mnist.train.images.shape == (55000, 784) and mnist.train.labels.shape == (55000, 10)
    err = capsys.readouterr().err
    assert err == ("input_data: copied %s into MNIST_data/ from %s (checksums verified)\n"
                   % (", ".join(name + ".gz" for name in input_data.MNIST_SHA256),
                      input_data.DEFAULT_DATA_DIR))
    assert sorted(os.listdir("MNIST_data")) == sorted(n + ".gz" for n in input_data.MNIST_SHA256)
    input_data.read_data_sets("MNIST_data/")
    assert capsys.readouterr().err == ""  # the second time, the files are there
    assert input_data.MIRRORS[0] == input_data.DEFAULT_DATA_DIR  # and so by default


def test_a_data_dir_that_cannot_be_written_is_one_line(tmp_path):
    with pytest.raises(input_data.DataError) as error:
        input_data.read_data_sets(unwritable_dir())
    message = str(error.value)
    assert message.startswith("missing from /sys and could not be fetched: ")
    assert "cannot write in /sys: Permission denied" in message and "\n" not in message


def test_a_data_file_that_is_a_directory_is_named(tiny_dir):
    path = os.path.join(tiny_dir, input_data.TEST_LABELS + ".gz")
    os.remove(path)
    os.mkdir(path)
    with pytest.raises(input_data.DataError, match="%s is not a file \\(a directory\\?\\)"
                                                   % re.escape(path)):
        input_data.read_data_sets(tiny_dir)


def test_command_line_on_a_small_data_set_says_what_does_not_fit(tiny_dir):
    result = subprocess.run([sys.executable, os.path.join(REPO_DIR, "input_data.py"), tiny_dir],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "input_data.py: error: validation_size must be between 0 and %d (the training images "
        "in %s), got 5000" % (TINY_TRAIN, tiny_dir))
    result = subprocess.run([sys.executable, os.path.join(REPO_DIR, "input_data.py"), tiny_dir,
                             "--validation-size", "100"], capture_output=True, text=True)
    assert result.returncode == 0 and "validation    100 images" in result.stdout


# ---------------------------------------------------------------------------------------------
# TF1's own semantics. Each value below was worked out by reading TF 1.15.5's
# tensorflow_core/contrib/learn/python/learn/datasets/mnist.py, in its wheel: next_batch
# starts a new epoch when `start + batch_size > num_examples`, extract_labels returns the
# file's uint8 bytes, dense_to_one_hot fills numpy.zeros (float64).

def ten_examples(seed=0):
    """A DataSet of 10 examples whose labels 0-9 name them."""
    images = np.repeat(np.arange(10, dtype=np.uint8), 784).reshape(10, 28, 28, 1)
    return input_data.DataSet(images, np.arange(10, dtype=np.uint8), seed=seed)


@pytest.mark.parametrize("batch_size, counted", [(5, [0, 0, 1, 1, 2]), (4, [0, 0, 1, 1, 1]),
                                                 (10, [0, 1, 2, 3, 4]), (3, [0, 0, 0, 1, 1])])
def test_an_epoch_is_counted_when_the_next_batch_starts_as_in_tf1(batch_size, counted):
    dataset = ten_examples()
    seen = []
    for _ in counted:
        dataset.next_batch(batch_size)
        seen.append(dataset.epochs_completed)
    assert seen == counted


def test_a_batch_across_an_epochs_end_holds_its_rest_then_the_next_epochs_start():
    dataset = ten_examples()
    first = np.concatenate([dataset.next_batch(4)[1] for _ in range(2)])
    _, across = dataset.next_batch(4)
    assert sorted(np.concatenate([first, across[:2]])) == list(range(10))  # epoch 1, whole
    assert len(set(across[2:])) == 2  # and the first two of epoch 2
    rest = np.concatenate([dataset.next_batch(4)[1] for _ in range(2)])
    assert sorted(np.concatenate([across[2:], rest])) == list(range(10))  # epoch 2, whole


def test_the_dtypes_in_every_mode_are_tf1s(shared_tiny_dir):
    plain = input_data.read_data_sets(shared_tiny_dir, validation_size=100)
    assert (plain.train.images.dtype, plain.train.images.shape[1]) == (np.float32, 784)
    assert 0 <= plain.train.images.min() and plain.train.images.max() <= 1
    assert (plain.train.labels.dtype, plain.train.labels.ndim) == (np.uint8, 1)
    hot = input_data.read_data_sets(shared_tiny_dir, one_hot=True, validation_size=100)
    assert (hot.test.labels.dtype, hot.test.labels.shape[1]) == (np.float64, 10)
    raw = input_data.read_data_sets(shared_tiny_dir, dtype=np.uint8, reshape=False,
                                    validation_size=100)
    assert (raw.train.images.dtype, raw.train.images.shape[1:]) == (np.uint8, (28, 28, 1))
    assert raw.train.images.max() == 255 and raw.train.labels.dtype == np.uint8
    images, labels = raw.train.next_batch(7)
    assert (images.dtype, images.shape, labels.dtype) == (np.uint8, (7, 28, 28, 1), np.uint8)


def test_a_batch_of_none_is_empty_and_one_larger_than_the_set_is_refused():
    dataset = ten_examples()
    images, labels = dataset.next_batch(0)
    assert images.shape == (0, 784) and labels.shape == (0,)
    assert dataset.epochs_completed == 0
    with pytest.raises(ValueError, match="batch_size must be between 0 and 10"):
        dataset.next_batch(11)  # TF1 would serve 10, then skip part of the next epoch


def test_the_shapes_tf1_asserts_on():
    images = np.zeros((10, 28, 28, 1), np.uint8)
    with pytest.raises(AssertionError):
        input_data.DataSet(images, np.zeros(9, np.uint8))  # as many labels as images
    with pytest.raises(AssertionError):
        input_data.DataSet(np.zeros((10, 28, 28, 3), np.uint8), np.zeros(10, np.uint8))
    with pytest.raises(TypeError, match="Invalid image dtype"):
        input_data.DataSet(images, np.zeros(10, np.uint8), dtype=np.int32)


def test_extract_and_dense_to_one_hot_are_tf1s(shared_tiny_dir):
    image_file = os.path.join(shared_tiny_dir, input_data.TRAIN_IMAGES + ".gz")
    label_file = os.path.join(shared_tiny_dir, input_data.TRAIN_LABELS + ".gz")
    with open(image_file, "rb") as f:
        images = input_data.extract_images(f)
    assert (images.dtype, images.shape) == (np.uint8, (TINY_TRAIN, 28, 28, 1))
    with open(label_file, "rb") as f:
        labels = input_data.extract_labels(f)
    with open(label_file, "rb") as f:
        one_hot = input_data.extract_labels(f, one_hot=True)
    assert (labels.dtype, labels.shape) == (np.uint8, (TINY_TRAIN,))
    assert one_hot.dtype == np.float64 and (one_hot.argmax(axis=1) == labels).all()
    with open(label_file, "rb") as f, pytest.raises(
            ValueError, match="Invalid magic number 2049 in MNIST image file: .*labels"):
        input_data.extract_images(f)
    np.testing.assert_array_equal(input_data.dense_to_one_hot(np.array([1, 3]), 4),
                                  [[0, 1, 0, 0], [0, 0, 0, 1]])


def test_without_a_seed_the_shuffling_follows_the_graph_level_seed_as_in_tf1(tiny_dir):
    # TF1's read_data_sets shuffled from tf.set_random_seed's seed when given none: a seeded
    # TF1 program (Morvan's, say) draws the same batches, and prints the same losses, each run.
    from tfmnist.tf1 import tf

    def first_labels(graph_seed):
        with tf.Graph().as_default():
            if graph_seed is not None:
                tf.set_random_seed(graph_seed)
            mnist = input_data.read_data_sets(tiny_dir, validation_size=100)
            return [tuple(mnist.train.next_batch(20)[1]) for _ in range(3)]

    assert first_labels(1) == first_labels(1)
    assert first_labels(1) != first_labels(2)
    assert first_labels(None) != first_labels(None)  # no seed at all: random, as in TF1
    with tf.Graph().as_default():
        tf.set_random_seed(1)  # a seed given to the loader wins over the graph's
        assert (input_data.read_data_sets(tiny_dir, validation_size=100, seed=5)
                .train.next_batch(20)[1].tolist()
                == input_data.read_data_sets(tiny_dir, validation_size=100, seed=5)
                .train.next_batch(20)[1].tolist())
