"""Classifies your own images of digits with a trained model of any of the classifiers.

    python cnn_mnist.py                        # train the default model first (once)
    python classify.py my_seven.png photo.jpg  # then ask it

Each image is prepared the way MNIST prepared its digits before the model sees it: ink as
white on black, the background at zero, strokes far thinner than MNIST's thickened, cropped
to the ink, scaled to fit 20x20, and placed in 28x28 by its centre of mass. --save-input DIR writes that 28x28 image, to see what the
model saw. PNG, JPEG, GIF, BMP, TIFF or WebP, read by Pillow (see images.py).
"""
import argparse
import os
import sys
import tempfile

import numpy as np

import cnn_mnist
import mlp_mnist
import mnist_common
import rnn_mnist
import rundir
import softmax_mnist
from images import ImageError, read_image, resize, save_png
from strokes import skeleton

MODELS = {"cnn": cnn_mnist, "rnn": rnn_mnist, "mlp": mlp_mnist, "softmax": softmax_mnist}
WORK_SIZE = 256  # larger images are shrunk to this longer side first: plenty for one digit
DIGIT_BOX = 20  # MNIST's digits fit a 20x20 box ...
IMAGE_SIZE = 28  # ... centred by mass in 28x28
MIN_CONTRAST = 0.1  # ink this faint (a tenth of black-on-white) is no ink: a blank image
INK_FLOOR = 0.15  # of the darkest stroke: fainter is the paper's grain, not ink
MNIST_STROKE = 0.13  # MNIST's median stroke width, over the digit's longer side ...
THIN_STROKE = 0.09  # ... and below its tenth percentile: a stroke this thin is thickened


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


def max_filter(image, window):
    """The largest value in each square window around each pixel (a grey dilation), one
    axis at a time."""
    height, width = image.shape
    padded = np.pad(image, window // 2, mode="edge")
    rows = np.max([padded[k:k + height] for k in range(window)], axis=0)
    return np.max([rows[:, k:k + width] for k in range(window)], axis=0)


def grey_opening(image, window):
    """Erosion then dilation with a square window: what remains is wider than the window."""
    return max_filter(-max_filter(-image, window), window)


def normalise_stroke_width(strokes):
    """Thickens strokes far thinner than MNIST's to MNIST's width, relative to the digit.

    A ballpoint's line in a large photo is a hairline once the digit shrinks to 20 pixels,
    where MNIST's strokes are 2 to 3 pixels wide. The width is the ink's mass over the
    length of its skeleton; MNIST's median is 0.13 of the digit's longer side.
    """
    ink = strokes > 0.5
    rows, cols = np.nonzero(ink)
    if len(rows) == 0:
        return strokes
    box = max(np.ptp(rows), np.ptp(cols)) + 1
    width = strokes.sum() / max(skeleton(ink).sum(), 1)
    if width >= THIN_STROKE * box:
        return strokes
    grow = int(round((MNIST_STROKE * box - width) / 2))  # pixels to add on each side
    return max_filter(strokes, 2 * grow + 1) if grow > 0 else strokes


def remove_background(ink_map):
    """Brings the paper to zero: its uneven light and shadows, and its grain, are not ink.

    The background is what a grey opening leaves: anything wider than a third of the image,
    which strokes are not but shading is. What stays above it is ink, less a floor above the
    paper's grain (median + 6 deviations, and at least INK_FLOOR of the darkest stroke: a
    single speck of grain left over would stretch the crop). Light multiplies: in a shadow,
    paper and ink are both darker, and the ink stands out less; so the ink is then measured
    against the paper's own light there, and rescaled so the darkest stroke is 1.
    """
    window = max(3, min(ink_map.shape) // 3) | 1  # odd, so the window has a centre
    background = grey_opening(ink_map, window)
    strokes = np.clip(ink_map - background, 0.0, None)
    peak = strokes.max()
    if peak < MIN_CONTRAST:
        raise ImageError("blank: no ink found")
    median = np.median(strokes)
    noise = 1.4826 * np.median(np.abs(strokes - median))  # the grain's standard deviation
    light = np.maximum(1.0 - background, 0.1)  # the paper's light: 1 for white in full light
    strokes, grain = strokes / light, (median + 6 * noise) / light  # grain grows in shadow too
    peak = strokes.max()
    floor = np.minimum(np.maximum(grain, INK_FLOOR * peak), 0.5 * peak)
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
    strokes = normalise_stroke_width(remove_background(ink_map))
    rows, cols = np.nonzero(strokes)
    digit = strokes[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = DIGIT_BOX / max(digit.shape)
    digit = resize(digit, max(1, round(digit.shape[0] * scale)),
                   max(1, round(digit.shape[1] * scale)))
    return center_in_28x28(np.clip(digit, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# The command.

def build_parser():
    parser = argparse.ArgumentParser(
        prog="classify.py", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("images", nargs="+", help="image files: PNG, JPEG, GIF, BMP, ...")
    parser.add_argument("--model", choices=MODELS, default="cnn",
                        help="which script's model to ask")
    parser.add_argument("--run-dir", default=None,
                        help="the run that trained the model (default: the newest run with a "
                             "checkpoint in runs/SCRIPT/)")
    parser.add_argument("--save-input", metavar="DIR", default=None,
                        help="also write the 28x28 image the model saw, as DIR/NAME.28x28.png")
    return parser


def model_run_dir(model, run_dir=None):
    """The run directory whose checkpoint answers: run_dir, or the newest run of the model's
    script that saved one. Raises UsageError when there is none."""
    script = MODELS[model].__name__
    found = run_dir or rundir.newest(rundir.script_runs(script), with_checkpoint=True)
    if found is None or not rundir.holds_run(found):
        raise mnist_common.UsageError("no trained %s model in %s: train one first with "
                                      "`python %s.py`"
                                      % (model, run_dir or rundir.script_runs(script), script))
    mnist_common.latest_checkpoint(found)  # refuses a missing or damaged one now
    return found


def saved_input_names(paths):
    """{path: the name of its 28x28 input under --save-input}: NAME.28x28.png, numbered
    NAME-2.28x28.png, ... where two inputs share a name (7.png and 7.jpg)."""
    names, used = {}, set()
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        name, number = stem + ".28x28.png", 2
        while name in used:
            name, number = "%s-%d.28x28.png" % (stem, number), number + 1
        used.add(name)
        names[path] = name
    return names


def _check_writable(directory):
    """Makes --save-input's directory; a file there, or no permission, is a UsageError."""
    try:
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise NotADirectoryError(0, "it is a file, not a directory")
        os.makedirs(directory, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as e:
        raise mnist_common.UsageError("--save-input %s: cannot write there: %s"
                                      % (directory, e.strerror or e))


def classify(paths, model="cnn", run_dir=None, save_input=None):
    """Classifies image files; returns {path: (probabilities [10], or the error message)}.

    save_input: a directory to write each 28x28 input to, named by saved_input_names().
    """
    run_dir = model_run_dir(model, run_dir)
    paths = list(dict.fromkeys(paths))
    if save_input:
        _check_writable(save_input)
    results, inputs = {}, {}
    for path in paths:
        try:
            inputs[path] = to_mnist(read_image(path))
        except ImageError as e:
            results[path] = str(e)
    if save_input:
        names = saved_input_names(paths)
        for path, image in inputs.items():
            try:
                save_png(image, os.path.join(save_input, names[path]))
            except ImageError as e:
                raise mnist_common.UsageError("--save-input: %s" % e)
    if inputs:
        batch = np.stack(list(inputs.values())).reshape(len(inputs), -1)
        logits = mnist_common.predict(MODELS[model].inference, run_dir, batch)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        results.update(zip(inputs, probabilities))
    return {path: results[path] for path in paths}


def main(argv=None):
    """Prints each image's digit, its probability and the next two guesses; returns 0 if all
    images were classified, 1 if some could not be."""
    args = build_parser().parse_args(argv)
    results = classify(args.images, args.model, args.run_dir, args.save_input)
    names = saved_input_names(results) if args.save_input else {}
    for path, result in results.items():
        if isinstance(result, str):
            print("%s: error: %s" % (path, result), file=sys.stderr)
            continue
        first, second, third = np.argsort(result)[::-1][:3]
        print("%s: %d  (%.1f%%; then %d %.1f%%, %d %.1f%%)%s" % (
            path, first, 100 * result[first], second, 100 * result[second],
            third, 100 * result[third],
            "  [input: %s]" % os.path.join(args.save_input, names[path]) if names else ""))
    return 0 if all(not isinstance(r, str) for r in results.values()) else 1


if __name__ == "__main__":
    mnist_common.run_main(lambda: sys.exit(main()), sys.argv[0], trains=False)
