"""TensorFlow's TF1 API, imported once, the same way by every module of the project:

    from tfmnist.tf1 import tf      # tensorflow.compat.v1, graph mode

TensorFlow reads its environment settings once, while it loads, so they are set here, before
the one import (setting one yourself overrides it): TF_CPP_MIN_LOG_LEVEL=2 keeps its C++ log
at WARNING and above; TF_ENABLE_ONEDNN_OPTS=1 asks for oneDNN's fused CPU kernels, which it
turns on only for some processors (on a 2-core AMD EPYC they train the CNN 1.5 times faster);
TF_USE_LEGACY_KERAS=1 brings TF1's tf.layers and tf.nn.rnn_cell back on TensorFlow 2.16 and
newer where the tf-keras package is installed, and is taken away where it is not, since
TensorFlow's import fails with it set and the package missing.
"""
import importlib.util
import os
import re
import sys
import tempfile

from tfmnist import _caused_by_interrupt

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
LEGACY_KERAS = importlib.util.find_spec("tf_keras") is not None
if LEGACY_KERAS:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
elif os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True"):  # as TensorFlow reads it
    print("notice: TF_USE_LEGACY_KERAS is set, but the tf-keras package is not installed: "
          "ignoring it (pip install --no-deps tf-keras==2.21.0 brings tf.layers back)",
          file=sys.stderr)
    del os.environ["TF_USE_LEGACY_KERAS"]


def _import_tensorflow_quietly():
    """tensorflow.compat.v1, without the "oneDNN custom operations are on" that TensorFlow
    2.21 prints twice before its log settings apply: stderr goes to a temporary file for the
    import, and is replayed if the import fails for another reason than Ctrl-C."""
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow.compat.v1 as tf
        except BaseException as error:
            os.dup2(saved_stderr, 2)
            if not _caused_by_interrupt(error):  # Ctrl-C: tfmnist's hook says so in one line
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
    return tf


tf = _import_tensorflow_quietly()
tf.get_logger().setLevel("ERROR")  # TF1 symbols warn of their deprecation at every use
tf.disable_v2_behavior()
# TF1's tf.layers and tf.nn.rnn_cell are there: TensorFlow 1.x's own, or tf-keras's.
TF1_LAYERS = LEGACY_KERAS or tf.version.VERSION.startswith("1.")


def eager_mode():
    """A context in which TensorFlow runs eagerly, TensorFlow 2's way, then graph mode
    resumes (mlp_mnist.py --eager): TensorFlow has no public switch for part of a program."""
    from tensorflow.python.eager import context

    return context.eager_mode()


def error_reason(error):
    """The line of a TensorFlow error that says what went wrong ("Invalid PNG data", "Key
    conv1/weights not found"), after the node, the stack and the task it came from."""
    message = getattr(error, "message", None) or str(error)
    for line in message.split("Original stack trace for")[0].splitlines():
        line = line.strip()
        if (line.strip("=") and line != "Graph execution error:"
                and not re.match(r"([A-Z_]+: )?From /job:", line)
                and not line.startswith(("Detected at node", "File \"", "Node: ", "[[",
                                         "Errors may have originated"))):
            return line.rstrip(".")
    return type(error).__name__
