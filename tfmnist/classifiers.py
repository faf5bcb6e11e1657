"""The trained classifiers that classify.py, draw.py and the benchmark ask: which script trains
each, where its newest run is, and its model rebuilt as that run trained it.

A model is rebuilt from the flags its run was trained with (the MODEL_FLAGS its script names,
read from the run's config.json), never from today's defaults: an `mlp_mnist.py --activation
tanh` run is answered through tanh.
"""
import functools
import importlib

from tfmnist import checkpoints, export, rundirs
from tfmnist.command_line import UsageError

SCRIPTS = {"cnn": "cnn_mnist", "rnn": "rnn_mnist", "mlp": "mlp_mnist",
           "softmax": "softmax_mnist"}  # name: the script that trains it


def name_of(script):
    """The classifier that a script (cnn_mnist) trains: cnn."""
    return {script_name: name for name, script_name in SCRIPTS.items()}[script]


def run_dir_of(name, run_dir=None):
    """The run directory whose checkpoint answers for classifier `name`: run_dir (or the
    newest run in it, for a directory of numbered runs), or the newest run of its script that
    saved a checkpoint; or run_dir itself if it holds a SavedModel (export.py). Raises
    UsageError when there is none, or its checkpoint is damaged."""
    script = SCRIPTS[name]
    if export.is_saved_model(run_dir):
        return run_dir
    parent = run_dir or rundirs.script_runs(script)
    found = run_dir if run_dir and rundirs.holds_run(run_dir) else rundirs.newest(
        parent, with_checkpoint=True)
    if found is None or not rundirs.holds_run(found):
        raise UsageError("no trained %s model in %s%s: train one first with `python %s.py`"
                         % (name, parent, rundirs.describe(parent), script))
    checkpoints.latest(found)  # refuses a missing or damaged one now
    return found


def inference_of(name, run_dir):
    """The function images [batch, 784] -> logits of classifier `name`, with the model flags
    its run in run_dir was trained with."""
    module = importlib.import_module(SCRIPTS[name])
    config = rundirs.read_config(run_dir)
    missing = [flag for flag in module.MODEL_FLAGS if flag not in config]
    if missing:
        raise UsageError("%s/%s does not say the run's --%s: it was not written by %s.py"
                         % (run_dir, rundirs.CONFIG_FILE, missing[0].replace("_", "-"),
                            module.__name__))
    # JSON holds a tuple of layer sizes as a list.
    return functools.partial(module.inference, **{
        flag: tuple(config[flag]) if isinstance(config[flag], list) else config[flag]
        for flag in module.MODEL_FLAGS})
