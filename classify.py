"""Classifies your own images of digits with a trained model of any of the classifiers.

    python cnn_mnist.py                        # train the default model first (once)
    python classify.py my_seven.png photo.jpg  # then ask it

Each image is prepared the way MNIST prepared its digits before the model sees it: ink as
white on black, measured against the light falling on the paper, the background at zero,
strokes far thinner than MNIST's thickened, cropped to the ink, scaled to fit 20x20, and
placed in 28x28 by its centre of mass. A number written in a row is split into its digits.
--save-input DIR writes the 28x28 images, to see what the model saw. PNG, JPEG, GIF, BMP,
TIFF or WebP, read by Pillow (see images.py).
"""
import argparse
import collections
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
MAX_INK = 0.35  # ink over more of the image than this is no digit on paper
MAX_DIGITS = 12  # more separate marks than this is no written number
SPECK = 0.03  # a piece of ink this small beside the largest is a speck, not a stroke
DIGIT_GAP = 0.08  # pieces closer than this, in the number's height, are one digit
TOUCHING_WIDTH = 1.0  # ink twice the number's height wide or more is touching digits
LOW_MARK = 0.5  # a mark lower than this, in the number's height, is part of a digit
SHADING_GRADIENT = 0.03  # log brightness per pixel: a gentler change is the light's, not ink
DARK_FLOOR = 1 / 64  # brightness added before the log, so black's log is finite
MNIST_STROKE = 0.13  # MNIST's median stroke width, over the digit's height ...
THIN_STROKE = 0.09  # ... and below its tenth percentile: a stroke this thin is thickened


# ---------------------------------------------------------------------------------------------
# Preparing an image the way MNIST's digits were.

def ink(pixels):
    """How much ink each pixel holds, float [h, w] in [0, 1], from [h, w, channels] 0..255,
    shrunk to at most WORK_SIZE pixels on a side.

    An alpha channel with any transparency is the ink itself (a drawing on a transparent
    background). Otherwise dark ink on light paper is measured against the paper's own
    light, shadows and all (see reflectance()); light ink on a dark ground (MNIST's own
    digits) is its grey level. Which of the two an image holds is told by its extremes: the
    ink lies farther from the paper's level, at the border, than anything else does.
    """
    channels = pixels.shape[2]
    if channels in (2, 4) and pixels[..., -1].min() < 255:
        return _work_size(pixels[..., -1] / 255.0)
    color = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    gray = color.mean(axis=2) if channels < 3 else color @ np.float32([0.299, 0.587, 0.114])
    gray = _work_size(gray / 255.0)
    paper_relative = reflectance(gray)
    border = np.median(np.concatenate([paper_relative[0], paper_relative[-1],
                                       paper_relative[:, 0], paper_relative[:, -1]]))
    darkest, lightest = np.percentile(paper_relative, [0.5, 99.5]) - border
    if -darkest > lightest:  # dark ink: the share of the paper's light it takes away
        return np.clip(1.0 - np.exp(paper_relative - border), 0.0, 1.0)
    return gray


def _work_size(image):
    """An image [h, w] shrunk to at most WORK_SIZE pixels on its longer side."""
    height, width = image.shape
    if max(height, width) <= WORK_SIZE:
        return np.asarray(image, np.float32)
    scale = WORK_SIZE / max(height, width)
    return resize(image, max(1, round(height * scale)), max(1, round(width * scale)))


def reflectance(gray):
    """The log of how much light each pixel reflects, [h, w], up to a constant: the
    brightness [h, w] in [0, 1] with the light falling on the paper taken out.

    Brightness is light times reflectance, so its log is their sum. Light changes gently,
    even at a shadow's edge; ink changes reflectance within a pixel or two. So the log's
    changes between neighbours steeper than SHADING_GRADIENT (and those a pixel beside
    them, an edge's tails) are kept as the ink's, the gentler ones dropped as the light's,
    and what is kept is integrated back into an image (a Poisson equation, solved with the
    Fourier transform of the image mirrored, which has no change across its border).
    """
    log = np.log(gray + DARK_FLOOR)
    along_rows, along_cols = np.diff(log, axis=1), np.diff(log, axis=0)
    smooth = _box_blur(log)  # the paper's grain is no edge: steepness is judged without it
    steep = np.zeros(log.shape, np.float32)
    steep[:-1, :-1] = np.hypot(np.diff(smooth, axis=1)[:-1],
                               np.diff(smooth, axis=0)[:, :-1]) > SHADING_GRADIENT
    steep = max_filter(steep, 3) > 0
    along_rows *= steep[:, :-1] & steep[:, 1:]
    along_cols *= steep[:-1] & steep[1:]
    divergence = np.zeros_like(log)
    divergence[:, :-1] += along_rows
    divergence[:, 1:] -= along_rows
    divergence[:-1] += along_cols
    divergence[1:] -= along_cols
    return _solve_poisson(divergence)


def _box_blur(image):
    """The mean of each 3x3 neighbourhood, the border repeated."""
    height, width = image.shape
    padded = np.pad(image, 1, mode="edge")
    return sum(padded[r:r + height, c:c + width] for r in range(3) for c in range(3)) / 9


def _solve_poisson(divergence):
    """The image [h, w] whose Laplacian is `divergence`, with no change across the border
    (up to a constant, here zero mean): the mirrored image makes the Fourier transform's
    wrap-around a reflection."""
    height, width = divergence.shape
    mirrored = np.concatenate([divergence, divergence[::-1]], axis=0)
    mirrored = np.concatenate([mirrored, mirrored[:, ::-1]], axis=1)
    laplacian = ((2 * np.cos(np.pi * np.arange(2 * height) / height) - 2)[:, None]
                 + (2 * np.cos(np.pi * np.arange(2 * width) / width) - 2)[None, :])
    laplacian[0, 0] = 1.0
    spectrum = np.fft.fft2(mirrored) / laplacian
    spectrum[0, 0] = 0.0
    return np.real(np.fft.ifft2(spectrum))[:height, :width].astype(np.float32)


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
    length of its skeleton; MNIST's median is 0.13 of the digit's height.
    """
    ink = strokes > 0.5
    rows, cols = np.nonzero(ink)
    if len(rows) == 0:
        return strokes
    box = np.ptp(rows) + 1  # the digits' height: a number in a row is as tall as a digit
    width = strokes.sum() / max(skeleton(ink).sum(), 1)
    if width >= THIN_STROKE * box:
        return strokes
    grow = int(round((MNIST_STROKE * box - width) / 2))  # pixels to add on each side
    return max_filter(strokes, 2 * grow + 1) if grow > 0 else strokes


def remove_background(ink_map):
    """Brings the paper to zero: what is left of its uneven light, and its grain, are not ink.

    ink() has taken the light out of dark ink on paper; what it leaves (and the uneven
    ground of light ink on dark) is what a grey opening leaves: anything wider than a third
    of the image, which strokes are not. What stays above it is ink, less a floor above the
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


def ink_strokes(pixels):
    """An image [h, w, channels] in 0..255 -> its strokes as ink in [0, 1], on a zero
    background, at most WORK_SIZE pixels on a side."""
    return normalise_stroke_width(remove_background(ink(pixels)))


def digit_28x28(strokes):
    """One digit's strokes -> the 28x28 float32 array in [0, 1] MNIST would make of it:
    cropped to the ink, scaled to fit 20x20, centred by its mass."""
    rows, cols = np.nonzero(strokes)
    digit = strokes[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = DIGIT_BOX / max(digit.shape)
    digit = resize(digit, max(1, round(digit.shape[0] * scale)),
                   max(1, round(digit.shape[1] * scale)))
    return center_in_28x28(np.clip(digit, 0.0, 1.0))


def to_mnist(pixels):
    """An image [h, w, channels] in 0..255 -> the 28x28 float32 array in [0, 1] MNIST would
    make of all its ink, taken as one digit."""
    return digit_28x28(ink_strokes(pixels))


def pieces(ink):
    """The 8-connected pieces of a binary image: a list of (rows, cols) index arrays."""
    labels = np.zeros(ink.shape, np.int32)
    found = []
    height, width = ink.shape
    for start in zip(*np.nonzero(ink)):
        if labels[start]:
            continue
        labels[start] = len(found) + 1
        stack, members = [start], []
        while stack:
            row, col = stack.pop()
            members.append((row, col))
            for r in range(max(row - 1, 0), min(row + 2, height)):
                for c in range(max(col - 1, 0), min(col + 2, width)):
                    if ink[r, c] and not labels[r, c]:
                        labels[r, c] = len(found) + 1
                        stack.append((r, c))
        found.append(tuple(np.array(axis) for axis in zip(*members)))
    return found


def split_digits(strokes):
    """The digits of a number written in a row, left to right: a strokes map for each.

    The ink's pieces are grouped by their columns: pieces side by side with a gap between
    them are separate digits; a piece over or under another (a 5's bar, a broken stroke) is
    part of it. Specks are left out. A group far wider than tall is taken for touching
    digits, and cut where its ink is thinnest.
    """
    found = [p for p in pieces(strokes > 0.3)]
    if not found:
        return [strokes]
    largest = max(len(p[0]) for p in found)
    found = [p for p in found if len(p[0]) >= SPECK * largest]
    height = max(p[0].max() - p[0].min() + 1 for p in found)
    groups = []  # [first column, last column, [pieces]], left to right
    for piece in sorted(found, key=lambda p: p[1].min()):
        first, last = piece[1].min(), piece[1].max()
        if groups and first <= groups[-1][1] + DIGIT_GAP * height:
            groups[-1][1] = max(groups[-1][1], last)
            groups[-1][2].append(piece)
        else:
            groups.append([first, last, [piece]])
    # A low group (a 5's bar, a stroke's end) belongs to its nearest neighbour: digits are tall.
    for index in sorted(range(len(groups)), key=lambda i: _group_height(groups[i])):
        group = groups[index]
        if len(groups) == 1 or _group_height(group) >= LOW_MARK * height:
            continue
        neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(groups)
                      and groups[i] is not None]
        if not neighbours:
            continue
        nearest = min(neighbours, key=lambda i: max(groups[i][0] - group[1],
                                                   group[0] - groups[i][1]))
        target = groups[nearest]
        target[0], target[1] = min(target[0], group[0]), max(target[1], group[1])
        target[2].extend(group[2])
        groups[index] = None
    groups = [group for group in groups if group is not None]
    # Each digit takes the columns up to halfway to its neighbours, with the faint edges
    # of its strokes that no piece holds.
    bounds = ([0] + [(left[1] + right[0]) // 2 + 1 for left, right in zip(groups, groups[1:])]
              + [strokes.shape[1]])
    digits = []
    tallest = max(_group_height(group) for group in groups)
    for (first, last, _), start, end in zip(groups, bounds[:-1], bounds[1:]):
        digit = np.zeros_like(strokes)
        digit[:, start:end] = strokes[:, start:end]
        digits.extend(_cut_touching(digit, first, last, tallest))
    return digits


def _group_height(group):
    """The height of a group of pieces (None, for a group merged away, sorts first)."""
    if group is None:
        return -1
    rows = np.concatenate([piece[0] for piece in group[2]])
    return rows.max() - rows.min() + 1


def _cut_touching(digit, first, last, height):
    """Cuts a group of ink much wider than the number's height into that many digits, each
    at the column nearest its place where the ink is thinnest."""
    count = int((last - first + 1) / (TOUCHING_WIDTH * height))
    if count < 2:
        return [digit]
    column_ink = digit.sum(axis=0)
    step = (last - first + 1) / count
    cuts = [first]
    for k in range(1, count):
        around = int(first + k * step)
        reach = max(1, int(step / 4))
        window = column_ink[around - reach:around + reach + 1]
        cuts.append(around - reach + int(np.argmin(window)))
    cuts.append(last + 1)
    parts = []
    for start, end in zip(cuts[:-1], cuts[1:]):
        part = np.zeros_like(digit)
        part[:, start:end] = digit[:, start:end]
        if part.max() > 0:
            parts.append(part)
    return parts


def to_mnist_digits(pixels):
    """The digits of a number in an image, left to right, each as MNIST would make it."""
    return [digit_28x28(digit) for digit in split_digits(ink_strokes(pixels))]


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
                        help="also write the 28x28 image the model saw, as DIR/NAME.28x28.png "
                             "(a number's digits side by side)")
    parser.add_argument("--one-digit", action="store_true",
                        help="read all the ink as one digit, rather than a number's digits")
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


Reading = collections.namedtuple("Reading", ["probabilities", "note"])
Reading.__doc__ = """What an image reads as: probabilities [digits, 10], one row per digit
left to right, and a note when the image looks unlike written digits (else None)."""


def unlike_digits(strokes, digit_count):
    """A note when the ink looks unlike a few written digits, else None."""
    ink = strokes > 0.3
    if ink.mean() > MAX_INK:
        return "ink covers %.0f%% of the image: is it a digit on paper?" % (100 * ink.mean())
    if digit_count > MAX_DIGITS:
        return "%d separate marks: more than a number's digits" % digit_count
    return None


def classify(paths, model="cnn", run_dir=None, save_input=None, one_digit=False):
    """Classifies image files; returns {path: a Reading, or the error message}.

    A number written in a row reads as its digits, left to right (one_digit: all the ink is
    one digit, as before). save_input: a directory to write what the model saw to, named by
    saved_input_names(): each digit's 28x28, side by side.
    """
    run_dir = model_run_dir(model, run_dir)
    paths = list(dict.fromkeys(paths))
    if save_input:
        _check_writable(save_input)
    results, inputs, notes = {}, {}, {}
    for path in paths:
        try:
            strokes = ink_strokes(read_image(path))
        except ImageError as e:
            results[path] = str(e)
            continue
        digits = [strokes] if one_digit else split_digits(strokes)
        inputs[path] = [digit_28x28(digit) for digit in digits]
        notes[path] = unlike_digits(strokes, len(digits))
    if save_input:
        names = saved_input_names(paths)
        for path, digits in inputs.items():
            try:
                save_png(np.concatenate(digits, axis=1), os.path.join(save_input, names[path]))
            except ImageError as e:
                raise mnist_common.UsageError("--save-input: %s" % e)
    if inputs:
        batch = np.concatenate([np.reshape(digits, (len(digits), -1))
                                for digits in inputs.values()])
        logits = mnist_common.predict(MODELS[model].inference, run_dir, batch)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        start = 0
        for path, digits in inputs.items():
            results[path] = Reading(probabilities[start:start + len(digits)], notes[path])
            start += len(digits)
    return {path: results[path] for path in paths}


def main(argv=None):
    """Prints what each image reads as: a digit, its probability and the next two guesses,
    or a number's digits with theirs; returns 0 if all images were read, 1 if some could
    not be."""
    args = build_parser().parse_args(argv)
    results = classify(args.images, args.model, args.run_dir, args.save_input, args.one_digit)
    names = saved_input_names(results) if args.save_input else {}
    for path, result in results.items():
        if isinstance(result, str):
            print("%s: error: %s" % (path, result), file=sys.stderr)
            continue
        digits = result.probabilities.argmax(axis=1)
        if len(digits) == 1:
            first, second, third = np.argsort(result.probabilities[0])[::-1][:3]
            answer = "%d  (%.1f%%; then %d %.1f%%, %d %.1f%%)" % (
                first, 100 * result.probabilities[0, first], second,
                100 * result.probabilities[0, second], third,
                100 * result.probabilities[0, third])
        else:
            answer = "%s  (%s)" % ("".join(map(str, digits)), ", ".join(
                "%d %.1f%%" % (digit, 100 * p[digit])
                for digit, p in zip(digits, result.probabilities)))
        if result.note:
            answer += "  [note: %s]" % result.note
        if names:
            answer += "  [input: %s]" % os.path.join(args.save_input, names[path])
        print("%s: %s" % (path, answer))
    return 0 if all(not isinstance(r, str) for r in results.values()) else 1


if __name__ == "__main__":
    mnist_common.run_main(lambda: sys.exit(main()), sys.argv[0], trains=False)
