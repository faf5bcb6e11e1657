"""MNIST loader with the API of TF1's `tensorflow.examples.tutorials.mnist.input_data`.

    import input_data
    mnist = input_data.read_data_sets("data/", one_hot=True)
    batch_xs, batch_ys = mnist.train.next_batch(100)

It parses the IDX files itself (gzip-compressed or raw) and checks every header, size and
label. It compares each payload's SHA-256 with MNIST's. A missing file is copied from the
verified copy bundled in this repository's data/, or else downloaded from the usual mirrors,
so the tutorials' own `read_data_sets("MNIST_data/")` works offline, from any directory.
A problem raises DataError with one line that names the file. Pure NumPy: no TensorFlow.

Run it to check a data directory and time the load:  python input_data.py [DATA_DIR]
"""
import argparse
import collections
import gzip
import hashlib
import os
import stat
import sys
import tempfile
import time
import urllib.request
import zlib

import numpy as np

DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
IMAGE_SIZE = 28
NUM_CLASSES = 10

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

# SHA-256 of each decompressed payload (see data/README.md): it does not depend on which
# gzip made the .gz file, so the bundled copy and a fresh download check the same way.
MNIST_SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Tried in order for each missing file; each serves NAME.gz. The first is the verified copy
# in this repository, so nothing is downloaded where the repository is.
MIRRORS = (
    DEFAULT_DATA_DIR,
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
DOWNLOAD_TIMEOUT_S = 30

IDX_UBYTE = 0x08  # the IDX type code for unsigned bytes, the only type MNIST uses
# More data than any set in MNIST's format holds (EMNIST's largest, 814,255 images): 2 million.
MAX_IDX_BYTES = 2000000 * IMAGE_SIZE * IMAGE_SIZE


class DataError(Exception):
    """A data file is missing, unreadable or malformed; the message names it."""


class SplitError(ValueError):
    """The validation split asked for does not fit the training set."""


Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


class DataSet:
    """Images and labels in memory, served in shuffled mini-batches: TF1's DataSet.

    `next_batch` serves every example exactly once per epoch, in a new order each epoch,
    drawn from a generator seeded by `seed` (None: TensorFlow's graph-level seed if one is
    set, as TF1's, else a fresh random seed). As in TF1, images
    [N, rows, cols, 1] are flattened to [N, rows * cols] (reshape) and uint8 pixels scaled to
    [0, 1] (dtype float32); images already of floats are taken as they are. fake_data makes
    TF1's fake set of 10,000 examples, whose next_batch(n, fake_data=True) serves n fake ones.
    """

    def __init__(self, images, labels, fake_data=False, one_hot=False, dtype=np.float32,
                 reshape=True, seed=None):
        dtype = _image_dtype(dtype)
        self.one_hot = one_hot  # used by fake batches only, as in TF1
        if fake_data:
            images, labels = np.zeros((10000, 0), np.float32), np.zeros(10000, np.int64)
        assert len(images) == len(labels), (np.shape(images), np.shape(labels))
        images = np.asarray(images)
        if reshape and images.ndim == 4:
            assert images.shape[3] == 1, images.shape
            images = images.reshape(len(images), images.shape[1] * images.shape[2])
        if dtype == np.float32 and images.dtype == np.uint8:
            images = images.astype(np.float32) * np.float32(1.0 / 255.0)
        self._images = [] if fake_data else images
        self._labels = [] if fake_data else labels
        self._num_examples = len(images)
        self._epochs_completed = 0
        self._index_in_epoch = 0
        self._rng = np.random.default_rng(graph_seed() if seed is None else seed)
        self._order = None  # this epoch's permutation, drawn when first needed

    @property
    def images(self):
        return self._images

    @property
    def labels(self):
        return self._labels

    @property
    def num_examples(self):
        return self._num_examples

    @property
    def epochs_completed(self):
        return self._epochs_completed

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """Returns the next `batch_size` (images, labels), crossing into the next epoch if
        needed; fake_data: TF1's fake batch, images of ones and labels 0. As in TF1, a batch
        of 0 is empty, and epochs_completed counts an epoch once a batch starts after it.
        (TF1 serves fewer examples than asked for a batch larger than the set, and skips
        part of the next epoch: here that is a ValueError.)"""
        if fake_data:
            label = [1] + [0] * 9 if self.one_hot else 0
            return [[1] * 784 for _ in range(batch_size)], [label for _ in range(batch_size)]
        if not 0 <= batch_size <= self._num_examples:
            raise ValueError("batch_size must be between 0 and %d (the number of examples), got %d"
                             % (self._num_examples, batch_size))
        index = self._next_indices(batch_size, shuffle)
        return self._images[index], self._labels[index]

    def skip(self, num_examples, shuffle=True):
        """Advances past `num_examples` exactly as `next_batch` would, without returning them.

        Resuming training uses it, so that a resumed run sees the batches an uninterrupted one
        would have seen.
        """
        self._next_indices(num_examples, shuffle)

    def _next_indices(self, count, shuffle):
        parts = [np.empty(0, dtype=np.int64)]
        while count:
            if self._index_in_epoch == self._num_examples:  # TF1 counts the epoch now
                self._epochs_completed += 1
                self._index_in_epoch = 0
                self._order = None
            if self._order is None:
                self._order = (self._rng.permutation(self._num_examples) if shuffle
                               else np.arange(self._num_examples))
            take = min(count, self._num_examples - self._index_in_epoch)
            parts.append(self._order[self._index_in_epoch:self._index_in_epoch + take])
            self._index_in_epoch += take
            count -= take
        return parts[1] if len(parts) == 2 else np.concatenate(parts)


def graph_seed():
    """The graph-level seed of TensorFlow's default graph, where TensorFlow is loaded and
    `tf.set_random_seed` set one, else None: TF1's loader shuffled from it when not given a
    seed of its own. (TensorFlow is only looked at, never imported, here.)"""
    tensorflow = sys.modules.get("tensorflow")
    try:
        return tensorflow.compat.v1.get_default_graph().seed
    except AttributeError:  # not loaded, or only partly
        return None


def read_data_sets(train_dir=DEFAULT_DATA_DIR, fake_data=False, one_hot=False,
                   dtype=np.float32, reshape=True, validation_size=5000, seed=None,
                   source_url=MIRRORS, download=True):
    """Loads MNIST from `train_dir`, downloading missing files, and splits off validation.

    TF1's read_data_sets, with the same parameters in the same order and their defaults.

    Args:
      train_dir: directory holding the four IDX files, gzip-compressed (NAME.gz) or raw.
      fake_data: TF1's fake sets (see DataSet), for code that tests itself without data.
      one_hot: labels as one-hot rows [N, 10] of float64, as TF1 gives them, instead of
        class ids [N] of uint8.
      dtype: float32 scales pixels to [0, 1]; uint8 keeps the raw bytes 0-255. NumPy's or
        TensorFlow's (tf.float32, tf.uint8).
      reshape: images as [N, 784]; False gives [N, 28, 28, 1].
      validation_size: the first this many training examples become the validation set.
      seed: seeds the shuffling of each set's `next_batch`. None, as in TF1: the graph-level
        seed of TensorFlow's default graph (`tf.set_random_seed`) if one is set, so a seeded
        TF1 program draws the same batches on every run; else random.
      source_url: a mirror URL or local directory, or a sequence of them, serving the missing
        NAME.gz files (by default: the bundled data/, then MNIST's usual mirrors).
      download: False raises DataError for missing files instead of downloading.
    Returns:
      Datasets(train, validation, test), each a DataSet.
    Raises:
      DataError: a file is missing and cannot be downloaded, or is malformed.
      SplitError: validation_size is larger than the training set.
    """
    if fake_data:
        return Datasets(*(DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype,
                                  seed=seed) for _ in range(3)))
    _image_dtype(dtype)  # refused before anything is read
    mirrors = (source_url,) if isinstance(source_url, str) else tuple(source_url)

    paths = ensure_files(train_dir, mirrors if download else ())
    payloads = {name: _decompress(path) for name, path in paths.items()}

    not_mnist = sorted(name for name, payload in payloads.items()
                       if hashlib.sha256(payload).hexdigest() != MNIST_SHA256[name])
    train_images = parse_images(payloads[TRAIN_IMAGES], paths[TRAIN_IMAGES])
    train_labels = parse_labels(payloads[TRAIN_LABELS], paths[TRAIN_LABELS])
    test_images = parse_images(payloads[TEST_IMAGES], paths[TEST_IMAGES])
    test_labels = parse_labels(payloads[TEST_LABELS], paths[TEST_LABELS])
    for images, labels, image_name, label_name in (
            (train_images, train_labels, TRAIN_IMAGES, TRAIN_LABELS),
            (test_images, test_labels, TEST_IMAGES, TEST_LABELS)):
        if len(images) != len(labels):
            raise DataError("%s holds %d images but %s holds %d labels"
                            % (paths[image_name], len(images), paths[label_name], len(labels)))
    if not_mnist:
        # Same format and names but other contents: Fashion-MNIST, a subset, a user's own data.
        print("notice: %s is not MNIST (the SHA-256 of %s differs); using it as it is"
              % (train_dir, ", ".join(not_mnist)), file=sys.stderr)

    if not 0 <= validation_size <= len(train_images):
        raise SplitError("validation_size must be between 0 and %d (the training images in "
                         "%s), got %d" % (len(train_images), train_dir, validation_size))

    def dataset(images, labels, set_seed):
        if one_hot:
            labels = dense_to_one_hot(labels, NUM_CLASSES)
        return DataSet(images.reshape(len(images), IMAGE_SIZE, IMAGE_SIZE, 1), labels,
                       dtype=dtype, reshape=reshape, seed=set_seed)

    # Each set shuffles from its own stream, so the training order does not depend on
    # whether validation batches were drawn.
    seeds = np.random.SeedSequence(graph_seed() if seed is None else seed).spawn(3)
    return Datasets(
        train=dataset(train_images[validation_size:], train_labels[validation_size:], seeds[0]),
        validation=dataset(train_images[:validation_size], train_labels[:validation_size],
                           seeds[1]),
        test=dataset(test_images, test_labels, seeds[2]))


def _image_dtype(dtype):
    """np.float32 or np.uint8, from NumPy's or TensorFlow's dtype (tf.float32 has
    as_numpy_dtype); anything else is a TypeError, as in TF1."""
    try:
        dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.uint8):
        raise TypeError("Invalid image dtype %r, expected uint8 or float32" % (dtype,))
    return dtype


def dense_to_one_hot(labels_dense, num_classes):
    """Class ids [N] -> one-hot rows [N, num_classes] of float64: TF1's function."""
    labels_dense = np.asarray(labels_dense)
    one_hot = np.zeros((labels_dense.shape[0], num_classes))
    one_hot[np.arange(labels_dense.shape[0]), labels_dense.ravel()] = 1
    return one_hot


def extract_images(f):
    """TF1's function: a gzip IDX3 file object (f.name names it) -> uint8 [N, rows, cols, 1].
    Raises ValueError if its magic number is not 2051, as TF1 does; DataError if it is
    malformed otherwise."""
    images = parse_images(_gunzip_checked(f, 2051, "image"), f.name)
    return images.reshape(images.shape + (1,))


def extract_labels(f, one_hot=False, num_classes=10):
    """TF1's function: a gzip IDX1 file object -> uint8 class ids [N], or one-hot rows
    (dense_to_one_hot). Raises ValueError if its magic number is not 2049, as TF1 does."""
    labels = parse_labels(_gunzip_checked(f, 2049, "label"), f.name)
    return dense_to_one_hot(labels, num_classes) if one_hot else labels


def _gunzip_checked(f, magic, kind):
    """The decompressed bytes of gzip file object f, with TF1's ValueError when they do not
    start with `magic`."""
    with gzip.GzipFile(fileobj=f) as stream:
        data = stream.read()
    if int.from_bytes(data[:4], "big") != magic:
        raise ValueError("Invalid magic number %d in MNIST %s file: %s"
                         % (int.from_bytes(data[:4], "big"), kind, f.name))
    return data


def load_data(path=DEFAULT_DATA_DIR):
    """((x_train, y_train), (x_test, y_test)) as tf.keras.datasets.mnist.load_data() gives
    them, from the IDX files in `path` (default: the bundled data/), offline: uint8 images
    [60000, 28, 28] and [10000, 28, 28], uint8 labels. TF2 tutorial code changes one line:

        (x_train, y_train), (x_test, y_test) = input_data.load_data()
    """
    mnist = read_data_sets(path, dtype=np.uint8, reshape=False, validation_size=0)
    return tuple((dataset.images[..., 0], dataset.labels)
                 for dataset in (mnist.train, mnist.test))


# ---------------------------------------------------------------------------------------------
# Finding and downloading the files.

def find_file(data_dir, name):
    """Returns the path of NAME.gz or raw NAME in data_dir, or None."""
    for candidate in (name + ".gz", name):
        path = os.path.join(data_dir, candidate)
        if os.path.isfile(path):
            return path
        if os.path.exists(path):
            raise DataError("%s is not a file (a directory?): move it away and the MNIST file "
                            "is fetched in its place" % path)
    return None


def ensure_files(data_dir, mirrors=MIRRORS):
    """Returns {name: path} for the four files, downloading the missing ones into data_dir."""
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise DataError("%s is not a directory" % data_dir)
    paths = {name: find_file(data_dir, name) for name in MNIST_SHA256}
    missing = [name for name, path in paths.items() if path is None]
    if missing and not mirrors:
        raise DataError("missing from %s: %s; put the MNIST files there (NAME.gz or raw IDX)"
                        % (data_dir, ", ".join(name + ".gz" for name in missing)))
    created = not os.path.isdir(data_dir)
    copied = []  # (file, the local directory it came from)
    for name in missing:
        try:
            paths[name], source = download(name, data_dir, mirrors)
            if os.path.isdir(source):
                copied.append((name + ".gz", source))
        except DataError as e:
            if created and os.path.isdir(data_dir) and not os.listdir(data_dir):
                os.rmdir(data_dir)  # leave no empty directory behind
            still_missing = [n + ".gz" for n in missing if paths[n] is None]
            # The other files would fail the same way: stop at the first.
            raise DataError("missing from %s and could not be fetched: %s (%s); copy the "
                            "MNIST .gz files there or point --data-dir at a directory that "
                            "has them" % (data_dir, ", ".join(still_missing), e))
    if copied:
        print("input_data: copied %s into %s from %s (checksums verified)" % (
            ", ".join(name for name, _ in copied), data_dir, copied[0][1]), file=sys.stderr)
    return paths


def download(name, data_dir, mirrors=MIRRORS, timeout=DOWNLOAD_TIMEOUT_S):
    """Fetches NAME.gz from the first mirror that serves a verified copy; returns (its path,
    the mirror). A mirror is a URL, or a local directory to copy from.

    The file is written under a temporary name in data_dir and renamed only once its
    checksum matches, so an interrupted download never leaves a half-written file behind.
    """
    filename = name + ".gz"
    target = os.path.join(data_dir, filename)
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as e:
        raise DataError("cannot create %s: %s" % (data_dir, e.strerror or e))
    last_error = None
    for mirror in mirrors:
        local = os.path.isdir(mirror)
        source = os.path.join(mirror, filename) if local else mirror.rstrip("/") + "/" + filename
        if local and (not os.path.isfile(source) or os.path.samefile(mirror, data_dir)):
            continue
        try:
            fd, temp_path = tempfile.mkstemp(prefix=filename + ".", suffix=".part", dir=data_dir)
        except OSError as e:  # no use trying the other mirrors
            raise DataError("cannot write in %s: %s" % (data_dir, e.strerror or e))
        try:
            with os.fdopen(fd, "wb") as out:
                if local:
                    with open(source, "rb") as f:
                        out.write(f.read())
                else:
                    _fetch(source, out, timeout)
            digest = hashlib.sha256(_decompress(temp_path, compressed=True)).hexdigest()
            if digest != MNIST_SHA256[name]:
                raise DataError("checksum mismatch")
            os.replace(temp_path, target)
            return target, mirror
        except (OSError, DataError) as e:  # urllib's errors are OSErrors
            last_error = "%s: %s" % (source, getattr(e, "reason", None) or e)
        finally:
            if os.path.exists(temp_path):
                os.remove(temp_path)
    raise DataError("last error: %s" % last_error if last_error else "no mirror to fetch from")


def _fetch(url, out, timeout):
    """Copies url into the open file `out`, with a progress line on stderr."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while True:
            chunk = response.read(1 << 16)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            progress = " %3d%%" % (100 * done // total) if total else ""
            print("\rdownloading %s%s (%d KiB)" % (url, progress, done >> 10),
                  end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        if total and done != total:
            raise DataError("connection closed after %d of %d bytes" % (done, total))


# ---------------------------------------------------------------------------------------------
# Parsing IDX.

def _decompress(path, compressed=None):
    """Returns the IDX bytes of a gzip-compressed or raw file (by default: by its name), read
    only as far as its header says the data goes, and one byte more to tell: a sparse file, or
    a .gz that inflates far beyond, is not read whole, and a pipe or a device not at all."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO: no waiting
    except OSError as e:
        raise DataError("%s: cannot read: %s" % (path, e.strerror or e))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DataError("%s: not a regular file (a pipe or a device?)" % path)
        gzipped = path.endswith(".gz") if compressed is None else compressed
        stream = gzip.GzipFile(fileobj=f) if gzipped else f
        try:
            data = stream.read(4)  # the magic number: 0, 0, the type, the dimensions
            ndim = data[3] if len(data) == 4 and 1 <= data[3] <= 4 else 0
            data += stream.read(4 * ndim if ndim else 12)  # (12: enough for the magic's error)
            size = 0
            if ndim and len(data) == 4 + 4 * ndim:
                for i in range(ndim):
                    size = (size or 1) * int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
            # Beyond what any MNIST-format file holds, nothing: the parse names the header.
            data += stream.read(size + 1 if size <= MAX_IDX_BYTES else 0)
        except (OSError, EOFError, zlib.error) as e:  # bad header, truncated stream, bad CRC
            raise DataError("%s: not a valid gzip file (%s)" % (path, e))
    return data


def _parse_idx(data, path, ndim):
    """Checks an IDX header of `ndim` dimensions; returns (dims, payload) as uint8."""
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError("%s: too short for an IDX header (%d bytes)" % (path, len(data)))
    zero, type_code, file_ndim = data[0:2], data[2], data[3]
    if zero != b"\0\0" or type_code != IDX_UBYTE or file_ndim != ndim:
        raise DataError("%s: wrong magic number 0x%s (expected 0x%08x, unsigned bytes in %d "
                        "dimensions)" % (path, data[:4].hex(), 0x800 + ndim, ndim))
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = 1
    for dim in dims:  # Python's integers: a header of garbage cannot overflow them
        expected *= dim
    found = len(data) - header_size
    if expected > MAX_IDX_BYTES:
        raise DataError("%s: the header promises %d bytes of data for shape %s, more than any "
                        "MNIST-format file holds" % (path, expected, "x".join(map(str, dims))))
    if found < expected:
        raise DataError("%s: truncated: the header promises %d bytes of data for shape %s, "
                        "found %d" % (path, expected, "x".join(map(str, dims)), found))
    if found > expected:
        raise DataError("%s: bytes past the end of the data for shape %s (%d bytes)"
                        % (path, "x".join(map(str, dims)), expected))
    return dims, np.frombuffer(data, dtype=np.uint8, offset=header_size)


def parse_images(data, path):
    """IDX3 bytes -> uint8 array [N, 28, 28]."""
    (count, rows, cols), pixels = _parse_idx(data, path, 3)
    if count == 0:
        raise DataError("%s: holds no images" % path)
    if (rows, cols) != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError("%s: images are %dx%d, expected %dx%d"
                        % (path, rows, cols, IMAGE_SIZE, IMAGE_SIZE))
    return pixels.reshape(count, rows, cols)


def parse_labels(data, path):
    """IDX1 bytes -> uint8 array [N] of class ids 0-9, as TF1 reads them."""
    (count,), labels = _parse_idx(data, path, 1)
    if count and labels.max() >= NUM_CLASSES:
        index = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError("%s: label %d at index %d is outside 0-%d"
                        % (path, labels[index], index, NUM_CLASSES - 1))
    return labels.astype(np.uint8)


def main(argv=None):
    """Checks a data directory and reports the sets and the load time."""
    parser = argparse.ArgumentParser(prog="input_data.py", description=main.__doc__)
    parser.add_argument("data_dir", nargs="?", default=DEFAULT_DATA_DIR, metavar="DATA_DIR",
                        help="directory of the four MNIST files (default: the bundled data/)")
    parser.add_argument("--validation-size", type=int, default=5000,
                        help="training images to hold out for validation")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        mnist = read_data_sets(args.data_dir, validation_size=args.validation_size)
    except (DataError, SplitError) as e:
        print("input_data.py: error: %s" % e, file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    for name, ds in zip(mnist._fields, mnist):
        print("%-10s %6d images %s %s, labels %s" % (name, ds.num_examples, ds.images.shape,
                                                     ds.images.dtype, np.bincount(ds.labels)))
    print("loaded %s in %.2f s" % (args.data_dir, seconds))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("\ninput_data.py: interrupted")
