"""The lessons, by the names every program calls them: the one registry that
distributed_mnist.py, cluster.py and the loader of a trained classifier share.

Every lesson has the same interface, in TF1's mnist.py shape: inference(x, ...) -> logits,
loss(), training(), and model(args, total_steps, wrap_optimizer=None), which builds them with
their placeholders and returns what a training step runs and feeds (evaluation.Model)."""
import importlib

LESSONS = {"softmax": "softmax_mnist", "mlp": "mlp_mnist", "cnn": "cnn_mnist",
           "rnn": "rnn_mnist", "autoencoder": "autoencoder_mnist"}  # name: its script
CLASSIFIERS = ("cnn", "rnn", "mlp", "softmax")  # those that read digits: classify.py, draw.py


def lesson(name):
    """The lesson's module (cnn: cnn_mnist)."""
    return importlib.import_module(LESSONS[name])


def name_of(script):
    """The lesson a script (cnn_mnist) is: cnn."""
    return {module: name for name, module in LESSONS.items()}[script]
