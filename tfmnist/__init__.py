"""The code the programs share, one module per concern.

Training (what every lesson script's loop calls):
    tf1           TensorFlow's TF1 API, imported once with this project's settings
    flags         the flags every script has, their checks, the data they ask for
    training      Run: the bookkeeping around a training loop (steps, progress, saving)
    evaluation    exact batched evaluation: correct counts, accuracy, predictions
    checkpoints   saving the newest few, finding the last, restoring into the right model
    rundirs       run directories: numbered runs, the lock, config.json, metrics.json
    command_line  one-line errors and exit codes for every program
    distributed   distributed_mnist.py's task of a cluster: its flags and checks, a ps task's
                  life, a worker's Run
    pictures      the pictures a run draws (matplotlib)
    augment       training images shifted at random (the CNN and the LSTM)

Reading your own digits (classify.py, draw.py):
    classifiers       which script trains each model, and the one loader of a trained one
    export            a trained classifier written as a SavedModel
    image_files       image files in and out, within bounds (Pillow)
    ink               a photo or drawing -> its ink, the paper's light taken out
    number_splitting  a number written in a row -> its digits
    digits            one digit's ink -> the 28x28 image MNIST would make of it
    morphology        the NumPy filters underneath
    draw.html         draw.py's page
"""
import os
import signal
import sys


def _interactive():
    """True in a notebook or the interactive interpreter, where Ctrl-C is the user's to see."""
    return hasattr(sys, "ps1") or "IPython" in sys.modules or sys.flags.interactive


def _caused_by_interrupt(error):
    """True for Ctrl-C, also when it came while a compiled module loaded: Python then raises
    "ImportError: initialization failed", caused by the KeyboardInterrupt."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


_sigint_received = []


def _on_sigint(signum, frame):
    _sigint_received.append(signum)
    raise KeyboardInterrupt  # what Python's own handler does


def _interrupted_while_loading(kind, error, trace, previous_hook=sys.excepthook):
    """Ctrl-C in the seconds before a program's main() runs, while NumPy and TensorFlow load,
    ends it with one line and exit 130, as Ctrl-C does later (run_main catches those).

    A compiled module that Ctrl-C stops as it loads may raise an ImportError that no longer
    names the KeyboardInterrupt (NumPy's does): the signal itself is what tells."""
    if not (_caused_by_interrupt(error)
            or _sigint_received and isinstance(error, ImportError)):
        return previous_hook(kind, error, trace)
    print("\n%s: interrupted while loading; nothing was written"
          % os.path.basename(sys.argv[0] or "python"), file=sys.stderr, flush=True)
    os._exit(130)  # at the top level, with nothing to clean up


def _started_as_one_of_our_programs():
    """True in a process that `python cnn_mnist.py` (or another of the project's programs,
    tools/ included) started: its __main__ is a file of this repository."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path:
        return False
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.dirname(os.path.abspath(path)) in (repo, os.path.join(repo, "tools"))


# Only the project's own programs are changed: they load this package first of all, seconds
# before main() runs. Imported anywhere else (a notebook, a test, your own program), the
# package changes nothing in the process.
if (_started_as_one_of_our_programs() and not _interactive()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
    signal.signal(signal.SIGINT, _on_sigint)
    sys.excepthook = _interrupted_while_loading
