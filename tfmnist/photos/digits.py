"""One digit's ink, prepared as MNIST prepared its digits: strokes far thinner than MNIST's
thickened, cropped to the ink, scaled to fit 20x20, and placed in 28x28 by its centre of
mass. Each digit of a number is prepared on its own: its own box, width and centre."""
import collections

import numpy as np

from tfmnist.photos.image_files import resize
from tfmnist.photos.ink import ink_strokes, normalise_stroke_width
from tfmnist.photos.number_splitting import joined_marks, marks_box, split_digits
from tfmnist.photos.sheet import on_the_sheet

DIGIT_BOX = 20  # MNIST's digits fit a 20x20 box ...
IMAGE_SIZE = 28  # ... centred by mass in 28x28
STROKE_SHARE = 0.3  # a digit's strokes: its ink above this share of its darkest
MAX_INK = 0.35  # ink over more of the image than this is no digit on paper
MAX_DIGITS = 12  # more separate marks than this is no written number


def digit_28x28(strokes):
    """One digit's strokes -> the 28x28 float32 array in [0, 1] MNIST would make of it:
    strokes at full strength (full_strength), thickened to MNIST's width for the digit's
    height where far thinner, cropped to its ink (ink_box), scaled to fit 20x20, centred by
    its mass."""
    strokes = normalise_stroke_width(full_strength(strokes))
    top, bottom, left, right = ink_box(strokes)
    digit = strokes[top:bottom, left:right]
    scale = DIGIT_BOX / max(digit.shape)
    digit = resize(digit, max(1, round(digit.shape[0] * scale)),
                   max(1, round(digit.shape[1] * scale)))
    return center_in_28x28(np.clip(digit, 0.0, 1.0))


def full_strength(strokes):
    """The digit's strokes [h, w] scaled so that they are 1 where they are typical (the
    median of its strokes, STROKE_SHARE of its darkest and darker), as MNIST's are: its
    digits were scanned as black and white. A row's ink is measured against its darkest
    stroke, and a fine pen's line shrunk below a pixel's width is faint beside it: as
    faint, a 0 reads as 5 or 9."""
    typical = np.median(strokes[strokes >= STROKE_SHARE * strokes.max()])
    return np.clip(strokes / typical, 0.0, 1.0) if typical > 0 else strokes


def ink_box(strokes, edge=1):
    """(top, bottom, left, right), bottom and right past the end: the box around a digit's
    marks (strokes above 0.3, specks left out: number_splitting.marks_box), widened by `edge`
    pixels for the faint edges of its strokes. Not every non-zero pixel: in a photo, a faint
    trace or a speck anywhere in the digit's crop would set the box, and the digit, scaled
    to fit it, would come out a dot."""
    box = marks_box(strokes)
    if box is None:  # faint all over: the non-zero pixels are all there is
        rows, cols = np.nonzero(strokes)
        return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    top, bottom, left, right = box
    top, left = max(top - edge, 0), max(left - edge, 0)
    # The ink near the marks, to its last faint pixel.
    rows, cols = np.nonzero(strokes[top:bottom + edge, left:right + edge])
    return top + rows.min(), top + rows.max() + 1, left + cols.min(), left + cols.max() + 1


Prepared = collections.namedtuple("Prepared", ["ink", "digits", "marks"])


def prepare(pixels, one_digit=False):
    """The photo pipeline that classify.py, draw.py and the benchmark share: an image [h, w,
    channels] in 0..255 -> Prepared(its ink map, the 28x28 float32 arrays in [0, 1] MNIST
    would make of its digits, left to right, how many separate marks its ink makes: its
    strokes, joined where faint, number_splitting.joined_marks). one_digit: all the ink is
    one digit."""
    strokes = ink_strokes(on_the_sheet(pixels))  # a sheet on a desk: the sheet alone
    found = joined_marks(strokes)
    digits = [strokes] if one_digit else split_digits(strokes, found)
    return Prepared(strokes, [digit_28x28(digit) for digit in digits], len(found))


def unlike_digits(prepared):
    """A note on a Prepared image whose ink looks unlike a few written digits, or whose ink
    runs to its edge; else None."""
    ink = prepared.ink > 0.3
    if ink.mean() > MAX_INK:
        return "ink covers %.0f%% of the image: is it a digit on paper?" % (100 * ink.mean())
    if prepared.marks > MAX_DIGITS:
        return "%d separate marks: more than a number's digits" % prepared.marks
    if ink[[0, -1]].any() or ink[:, [0, -1]].any():
        return "ink touches the edge of the image: a digit may be cut off"
    return None


def to_mnist(pixels):
    """All the ink of an image as one digit, as MNIST would make it (see prepare())."""
    return prepare(pixels, one_digit=True)[1][0]


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


def to_mnist_digits(pixels):
    """The digits of a number in an image, left to right, each as MNIST would make it."""
    return prepare(pixels)[1]
