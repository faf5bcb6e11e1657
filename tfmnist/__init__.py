"""The code the programs share: for training, tf1 (TensorFlow's TF1 API, loaded once), flags,
training (Run: the bookkeeping around a loop), evaluation, checkpoints, rundirs, restoring (a
run read back: --resume, --eval-only), command_line, augment, pictures, lessons (the
registry) and distributed (a task of a cluster); for reading your own digits, classifiers
(the one loader of a trained model), export (SavedModels) and the photos package.

Imported by one of the project's own programs (`python cnn_mnist.py`), it makes Ctrl-C (or
SIGTERM, SIGHUP) in the seconds while NumPy and TensorFlow load one line and exit 130, as it
is later (run_main).
Imported anywhere else (a notebook, a test, your own program), it changes nothing.
"""
import os
import signal
import sys

_sigint_received = []


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


def _on_sigint(signum, frame):
    _sigint_received.append(signum)  # NumPy's ImportError may no longer name the interrupt
    raise KeyboardInterrupt  # what Python's own handler does


def _interrupted_while_loading(kind, error, trace, previous_hook=sys.excepthook):
    if not (_caused_by_interrupt(error) or _sigint_received and isinstance(error, ImportError)):
        return previous_hook(kind, error, trace)
    print("\n%s: interrupted while loading; nothing was written"
          % os.path.basename(sys.argv[0] or "python"), file=sys.stderr, flush=True)
    os._exit(130)  # at the top level, with nothing to clean up


def _started_as_one_of_our_programs():
    """True where __main__ is a file of this repository (tools/ included), not interactive."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return bool(path) and os.path.dirname(os.path.abspath(path)) in (
        repo, os.path.join(repo, "tools")) and not (
        hasattr(sys, "ps1") or "IPython" in sys.modules or sys.flags.interactive)


if (_started_as_one_of_our_programs()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
    signal.signal(signal.SIGINT, _on_sigint)
    for _number in (signal.SIGTERM, signal.SIGHUP):  # every signal that ends it, alike
        if signal.getsignal(_number) is signal.SIG_DFL:
            signal.signal(_number, _on_sigint)
    sys.excepthook = _interrupted_while_loading
