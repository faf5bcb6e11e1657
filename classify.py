"""Classifies your own images of digits with a trained model of any of the classifiers.

    python cnn_mnist.py                        # train the default model first (once)
    python classify.py my_seven.png photo.jpg  # then ask it

Each image is prepared the way MNIST prepared its digits before the model sees it: ink as
white on black, measured against the light falling on the paper, the background at zero,
strokes far thinner than MNIST's thickened, cropped to the ink, scaled to fit 20x20, and
placed in 28x28 by its centre of mass. A number written in a row is split into its digits,
each prepared on its own. --save-input DIR writes what the model saw: each digit's 28x28
image, and the ink map they were cut from. PNG, JPEG, GIF, BMP,
TIFF or WebP, read by Pillow (see tfmnist/photos/image_files.py). How each step works, and why:
docs/photos.md.
"""
import argparse
import collections
import os
import sys
import tempfile

import numpy as np

from tfmnist import classifiers, flags, lessons
from tfmnist.command_line import UsageError, run_main
from tfmnist.photos.digits import prepare, unlike_digits
from tfmnist.photos.image_files import ImageError, read_image, save_png



def build_parser():
    parser = argparse.ArgumentParser(
        prog="classify.py", description=flags.description(__doc__),
        formatter_class=flags.HelpFormatter)
    parser.add_argument("images", nargs="+", help="image files: PNG, JPEG, GIF, BMP, ...")
    parser.add_argument("--model", choices=lessons.CLASSIFIERS, default="cnn",
                        help="which script's model to ask")
    parser.add_argument("--run-dir", default=None,
                        help="the run that trained the model (default: the newest run in "
                             "runs/SCRIPT/ that trained the lesson's whole schedule, else the "
                             "newest with a checkpoint), or a SavedModel exported from one")
    parser.add_argument("--save-input", metavar="DIR", default=None,
                        help="also write what the model saw: each digit's 28x28 image as "
                             "DIR/NAME.1.png, NAME.2.png, ... left to right, and the ink "
                             "map they were cut from as DIR/NAME.ink.png")
    parser.add_argument("--one-digit", action="store_true",
                        help="read all the ink as one digit, rather than a number's digits")
    return parser


def saved_input_stems(paths):
    """{path: the start of its files' names under --save-input}: the file's name without its
    extension, numbered NAME-2, NAME-3, ... where two inputs share a name (7.png and 7.jpg)."""
    stems, used = {}, set()
    for path in paths:
        name = stem = os.path.splitext(os.path.basename(path))[0]
        number = 2
        while stem in used:
            stem, number = "%s-%d" % (name, number), number + 1
        used.add(stem)
        stems[path] = stem
    return stems


def saved_input_files(stem, digit_count):
    """The files --save-input writes for an input: (its digits' 28x28 images, left to right,
    and its ink map), as names."""
    return (["%s.%d.png" % (stem, number) for number in range(1, digit_count + 1)],
            stem + ".ink.png")


def _check_writable(directory):
    """Makes --save-input's directory; a file there, or no permission, is a UsageError."""
    try:
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise NotADirectoryError(0, "it is a file, not a directory")
        os.makedirs(directory, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as e:
        raise UsageError("--save-input %s: cannot write there: %s"
                                      % (directory, e.strerror or e))


Reading = collections.namedtuple("Reading", ["probabilities", "note"])
Reading.__doc__ = """What an image reads as: probabilities [digits, 10], one row per digit
left to right, and a note when the image looks unlike written digits (else None)."""


def readings(paths, model="cnn", run_dir=None, save_input=None, one_digit=False,
             loaded=None):
    """Yields (path, a Reading or the error message) for each image file, in order, as soon
    as it is read: the model is loaded once, and each file's images are let go once it is
    answered, so memory stays that of one file however many are given.

    A number written in a row reads as its digits, left to right (one_digit: all the ink is
    one digit). save_input: a directory to write what the model saw to, named by
    saved_input_files(): each digit's 28x28, and the ink map they were cut from. loaded:
    called with the Predictor once it is loaded, before the first image is read.
    """
    paths = list(dict.fromkeys(paths))
    if save_input:
        _check_writable(save_input)
    stems = saved_input_stems(paths) if save_input else {}
    predictor = classifiers.load(model, run_dir)
    try:
        if loaded:
            loaded(predictor)
        for path in paths:
            try:
                prepared = prepare(read_image(path), one_digit)
            except ImageError as e:
                yield path, str(e)
                continue
            if save_input:
                digit_files, ink_file = saved_input_files(stems[path], len(prepared.digits))
                try:
                    for digit, name in zip(prepared.digits, digit_files):
                        save_png(digit, os.path.join(save_input, name))
                    save_png(prepared.ink, os.path.join(save_input, ink_file))
                except ImageError as e:
                    raise UsageError("--save-input: %s" % e)
            probabilities = predictor.probabilities(
                np.reshape(prepared.digits, (len(prepared.digits), -1)))
            yield path, Reading(probabilities, unlike_digits(prepared))
    finally:
        predictor.close()


def classify(paths, model="cnn", run_dir=None, save_input=None, one_digit=False):
    """Classifies image files; returns {path: a Reading, or the error message} (see
    readings())."""
    return dict(readings(paths, model, run_dir, save_input, one_digit))


def main(argv=None):
    """Prints what each image reads as: a digit, its probability and the next two guesses,
    or a number's digits with theirs; returns 0 if all images were read, 1 if some could
    not be."""
    args = build_parser().parse_args(argv)
    stems = saved_input_stems(dict.fromkeys(args.images)) if args.save_input else {}
    all_read = True
    def say_which_model(predictor):  # on stderr: stdout keeps one line per image
        print("classify.py: answering with %s" % predictor.description, file=sys.stderr,
              flush=True)

    for path, result in readings(args.images, args.model, args.run_dir, args.save_input,
                                 args.one_digit, say_which_model):
        if isinstance(result, str):
            print("%s: error: %s" % (path, result), file=sys.stderr, flush=True)
            all_read = False
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
        if stems:
            digit_files, ink_file = saved_input_files(stems[path], len(digits))
            answer += "  [input: %s%s; ink: %s]" % (
                os.path.join(args.save_input, digit_files[0]),
                " to " + digit_files[-1] if len(digit_files) > 1 else "", ink_file)
        print("%s: %s" % (path, answer), flush=True)
    return 0 if all_read else 1


if __name__ == "__main__":
    run_main(main, "classify.py", trains=False)
