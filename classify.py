"""Classifies your own images of digits with a trained model of any of the three scripts.

    python cnn_mnist.py                        # train the default model first (once)
    python classify.py my_seven.png photo.jpg  # then ask it

Each image is prepared the way MNIST prepared its digits before the model sees it: ink as
white on black, the background at zero, cropped to the ink, scaled to fit 20x20, and placed
in 28x28 by its centre of mass. --save-input DIR writes that 28x28 image, to see what the
model saw. PNG, JPEG, GIF and BMP, decoded by TensorFlow's own image ops.
"""
import argparse
import os
import sys

import numpy as np

import mnist_common  # first: it quiets TensorFlow's start-up logging
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

MODELS = ("cnn", "rnn", "softmax")
MAX_FILE_BYTES = 50 << 20
MAX_PIXELS = 50_000_000  # a larger image is refused before it is decoded
WORK_SIZE = 256  # larger images are shrunk to this longer side first: plenty for one digit
DIGIT_BOX = 20  # MNIST's digits fit a 20x20 box ...
IMAGE_SIZE = 28  # ... centred by mass in 28x28
MIN_CONTRAST = 0.1  # ink this faint (a tenth of black-on-white) is no ink: a blank image
INK_FLOOR = 0.15  # of the darkest stroke: fainter is the paper's grain, not ink


class ImageError(Exception):
    """This file cannot be classified; the message says why."""


# ---------------------------------------------------------------------------------------------
# Decoding.

def image_size(data):
    """(width, height) from a PNG, GIF, BMP or JPEG header, or None if it is none of those."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"BM" and len(data) >= 26:
        return (abs(int.from_bytes(data[18:22], "little", signed=True)),
                abs(int.from_bytes(data[22:26], "little", signed=True)))
    if data[:3] == b"\xff\xd8\xff":
        index = 2  # walk the JPEG segments to the frame header (SOF0-SOF15 but DHT, JPG, DAC)
        while index + 9 <= len(data) and data[index] == 0xFF:
            marker = data[index + 1]
            length = int.from_bytes(data[index + 2:index + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return (int.from_bytes(data[index + 7:index + 9], "big"),
                        int.from_bytes(data[index + 5:index + 7], "big"))
            index += 2 + length
        return (0, 0)  # a JPEG whose size we cannot see: let the decoder judge it
    return None


def read_image(path):
    """Decodes an image file into float32 [height, width, channels] in 0..255."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise ImageError("too large (%d MB; at most %d MB)" % (size >> 20, MAX_FILE_BYTES >> 20))
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImageError("cannot read: %s" % (e.strerror or e))
    if not data:
        raise ImageError("empty file")
    dimensions = image_size(data)
    if dimensions is None:
        raise ImageError("not an image TensorFlow can read (PNG, JPEG, GIF or BMP)")
    if dimensions[0] * dimensions[1] > MAX_PIXELS:
        raise ImageError("too large (%dx%d pixels; at most %d megapixels)"
                         % (dimensions + (MAX_PIXELS // 1_000_000,)))
    with tf.Graph().as_default(), tf.Session() as sess:
        # expand_animations=False: a GIF's first frame, like any other image.
        decoded = tf.io.decode_image(data, expand_animations=False)
        try:
            pixels = sess.run(decoded)
        except tf.errors.OpError as e:
            raise ImageError("cannot decode: %s" % mnist_common.first_line(e))
    if pixels.size == 0:
        raise ImageError("empty image")
    return pixels.astype(np.float32)


def resize(image, height, width):
    """Resizes a float [h, w] array with TensorFlow's antialiased bilinear filter."""
    with tf.Graph().as_default(), tf.Session() as sess:
        # The v2 op: v1's resize has no antialiasing, and shrinking without it drops strokes.
        return sess.run(tf.compat.v2.image.resize(image[..., None], [height, width],
                                                  method="bilinear", antialias=True))[..., 0]


# ---------------------------------------------------------------------------------------------
# Preparing an image the way MNIST's digits were.

def ink(pixels):
    """How much ink each pixel holds, float [h, w] in [0, 1], from [h, w, channels] 0..255.

    An alpha channel with any transparency is the ink itself (a drawing on a transparent
    background). Otherwise the grey level is, and dark ink on light paper is inverted: MNIST's
    digits are white on black.
    """
    channels = pixels.shape[2]
    if channels in (2, 4) and pixels[..., -1].min() < 255:
        return pixels[..., -1] / 255.0
    color = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    gray = color.mean(axis=2) if channels < 3 else color @ np.float32([0.299, 0.587, 0.114])
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127.5:  # light paper
        gray = 255.0 - gray
    return gray / 255.0


def grey_opening(image, window):
    """Erosion then dilation with a square window: what remains is wider than the window."""
    def max_filter(a):
        a = np.pad(a, window // 2, mode="edge")
        view = np.lib.stride_tricks.sliding_window_view(a, window, axis=0).max(axis=-1)
        return np.lib.stride_tricks.sliding_window_view(view, window, axis=1).max(axis=-1)

    return max_filter(-max_filter(-image))


def remove_background(ink_map):
    """Brings the paper to zero: its uneven light and shadows, and its grain, are not ink.

    The background is what a grey opening leaves: anything wider than a third of the image,
    which strokes are not but shading is. What stays above it is ink, less a floor above the
    paper's grain (median + 6 deviations, and at least INK_FLOOR of the darkest stroke: a
    single speck of grain left over would stretch the crop), rescaled so the darkest stroke
    is 1.
    """
    window = max(3, min(ink_map.shape) // 3) | 1  # odd, so the window has a centre
    strokes = np.clip(ink_map - grey_opening(ink_map, window), 0.0, None)
    peak = strokes.max()
    if peak < MIN_CONTRAST:
        raise ImageError("blank: no ink found")
    median = np.median(strokes)
    noise = 1.4826 * np.median(np.abs(strokes - median))  # the grain's standard deviation
    floor = min(max(median + 6 * noise, INK_FLOOR * peak), 0.5 * peak)
    return np.clip((strokes - floor) / (peak - floor), 0.0, 1.0)


def center_in_28x28(digit):
    """Places a digit of at most 20x20 in 28x28 so that its centre of mass is in the middle."""
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    top = int(round((IMAGE_SIZE - 1) / 2 - (rows * digit).sum() / mass))
    left = int(round((IMAGE_SIZE - 1) / 2 - (cols * digit).sum() / mass))
    top = min(max(top, 0), IMAGE_SIZE - digit.shape[0])
    left = min(max(left, 0), IMAGE_SIZE - digit.shape[1])
    canvas = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    canvas[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return canvas


def to_mnist(pixels):
    """An image [h, w, channels] in 0..255 -> the 28x28 float32 array in [0, 1] MNIST would make."""
    height, width = pixels.shape[:2]
    ink_map = ink(pixels)
    if max(height, width) > WORK_SIZE:
        scale = WORK_SIZE / max(height, width)
        ink_map = resize(ink_map, max(1, round(height * scale)), max(1, round(width * scale)))
    strokes = remove_background(ink_map)
    rows, cols = np.nonzero(strokes)
    digit = strokes[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = DIGIT_BOX / max(digit.shape)
    digit = resize(digit, max(1, round(digit.shape[0] * scale)),
                   max(1, round(digit.shape[1] * scale)))
    return center_in_28x28(np.clip(digit, 0.0, 1.0))


def save_png(image, path):
    """Writes a [28, 28] array in [0, 1] as an 8-bit PNG, atomically."""
    [data] = mnist_common.encode_png([image])
    mnist_common.write_atomically(path, data)


# ---------------------------------------------------------------------------------------------
# The command.

def build_parser():
    parser = argparse.ArgumentParser(
        prog="classify.py", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("images", nargs="+", help="image files: PNG, JPEG, GIF or BMP")
    parser.add_argument("--model", choices=MODELS, default="cnn",
                        help="which script's model to ask")
    parser.add_argument("--run-dir", default=None,
                        help="the --run-dir the model was trained in (default: runs/SCRIPT)")
    parser.add_argument("--save-input", metavar="DIR", default=None,
                        help="also write the 28x28 image the model saw, as DIR/NAME.28x28.png")
    return parser


def classify(paths, model="cnn", run_dir=None, save_input=None):
    """Classifies image files; returns {path: (probabilities [10], or the error message)}."""
    script = "%s_mnist" % model
    module = __import__(script)
    run_dir = run_dir or os.path.join(mnist_common.RUNS_DIR, script)
    if not tf.train.latest_checkpoint(run_dir):
        raise mnist_common.UsageError("no trained %s model in %s: train one first with "
                                      "`python %s.py`" % (model, run_dir, script))
    results, images = {}, {}
    for path in paths:
        try:
            images[path] = to_mnist(read_image(path))
        except ImageError as e:
            results[path] = str(e)
    if save_input:
        os.makedirs(save_input, exist_ok=True)
        for path, image in images.items():
            name = os.path.splitext(os.path.basename(path))[0] + ".28x28.png"
            save_png(image, os.path.join(save_input, name))
    if images:
        batch = np.stack(list(images.values())).reshape(len(images), -1)
        logits = mnist_common.predict(module.inference, run_dir, batch)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        results.update(zip(images, probabilities))
    return {path: results[path] for path in paths}


def main(argv=None):
    """Prints each image's digit, its probability and the next two guesses; returns 0 if all
    images were classified, 1 if some could not be."""
    args = build_parser().parse_args(argv)
    results = classify(args.images, args.model, args.run_dir, args.save_input)
    for path, result in results.items():
        if isinstance(result, str):
            print("%s: error: %s" % (path, result), file=sys.stderr)
            continue
        first, second, third = np.argsort(result)[::-1][:3]
        print("%s: %d  (%.1f%%; then %d %.1f%%, %d %.1f%%)" % (
            path, first, 100 * result[first], second, 100 * result[second],
            third, 100 * result[third]))
    return 0 if all(not isinstance(r, str) for r in results.values()) else 1


if __name__ == "__main__":
    mnist_common.run_main(lambda: sys.exit(main()), sys.argv[0])
