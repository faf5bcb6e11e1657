"""Makes notebooks/LESSON.ipynb from LESSON.py, and runs it with the lesson's defaults.

A lesson's file is the notebook's source: its `# %%` lines split it into cells and its
`# %% [markdown]` comments are the prose (jupytext's percent format), so the two cannot
drift (tests/test_notebook.py fails when they do). The notebook adds a first cell that finds
the repository and, at the end, the training run (main([]), what `python LESSON.py` runs)
and its pictures; each notebook is then run top to bottom in a kernel started in notebooks/,
as Jupyter starts it, and written with its outputs, the pictures embedded.

    python tools/make_notebooks.py                 # all five, with real default runs: ~7 minutes
    python tools/make_notebooks.py cnn_mnist       # one
"""
import argparse
import os
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS_DIR = os.path.join(REPO_DIR, "notebooks")
LESSONS = ("softmax_mnist", "mlp_mnist", "cnn_mnist", "rnn_mnist", "autoencoder_mnist")

FIND_REPOSITORY = """\
# The repository's modules (tfmnist, input_data), from notebooks/ where Jupyter starts this
# kernel. Elsewhere, put the repository's path here.
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath("")))"""

TRAIN = """\
## Training it
What `python {lesson}.py` runs, with its defaults and so its figures: the progress lines,
the validation after each epoch, the test figure. The run directory, `runs/{lesson}/N`,
keeps the checkpoints, TensorBoard's log, `metrics.json` and the pictures."""

MISREAD = """\
from tfmnist import pictures

test = flags.load_data(build_parser().parse_args([])).test  # the set main() tested on
Image(pictures.misclassified(test.images, test.labels, metrics["test_logits"]))"""

# The lesson's own picture, drawn from its checkpoint (tf.train.load_variable reads one
# variable without a graph): [(markdown, code)].
OWN_PICTURES = {
    "softmax_mnist": [("The ten columns of W, each a digit's template: red pixels speak for "
                       "the digit, blue against it.", """\
W = tf.train.load_variable(metrics["checkpoint"], "softmax_linear/weights")  # [784, 10]
Image(pictures.image_grid(W.T.reshape(10, 28, 28), "W, one column per digit",
                          [str(digit) for digit in range(10)], columns=10, signed=True))""")],
    "mlp_mnist": [("What the first hidden layer's units look for: the weights from the 784 "
                   "pixels into 32 of its 256 units.", """\
W = tf.train.load_variable(metrics["checkpoint"], "hidden1/weights")  # [784, 256]
Image(pictures.image_grid(W.T[:32].reshape(-1, 28, 28), "hidden1: 32 units' weights",
                          signed=True))""")],
    "cnn_mnist": [("The first layer's 32 filters of 5x5 as training left them, red above zero "
                   "and blue below: each answers most where the pixels under it are bright on "
                   "its red part and dark on its blue part.",
                   """\
W = tf.train.load_variable(metrics["checkpoint"], "conv1/weights")  # [5, 5, 1, 32]
Image(pictures.image_grid(W[:, :, 0].transpose(2, 0, 1), "conv1's 32 filters", signed=True))""")],
    "rnn_mnist": [],
    "autoencoder_mnist": [("Test digits above their reconstructions from two numbers, and "
                           "the test set's codes, coloured by the labels the network never saw.",
                           """\
display(Image(os.path.join(metrics["run_dir"], "reconstructions.png")))
Image(os.path.join(metrics["run_dir"], "codes.png"))""")],
}


def notebook_of(lesson):
    """The notebook of a lesson, without outputs: its file's cells, less the lines that run
    it as a command, between the repository's path and the training run with its pictures."""
    source = jupytext.read(os.path.join(REPO_DIR, lesson + ".py"))
    cells = [cell for cell in source.cells
             if not cell.source.startswith('if __name__ == "__main__":')]
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    title = "# `%s.py`, as a notebook" % lesson
    tail = [md(TRAIN.format(lesson=lesson)),
            code("metrics = main([])  # [] : the defaults, not the kernel's own command line"),
            md("The training loss of every step, and the validation figure of each epoch."),
            code("from IPython.display import Image, display\n\n"
                 "Image(os.path.join(metrics[\"run_dir\"], \"training_curves.png\"))")]
    if lesson != "autoencoder_mnist":
        tail += [md("The test digits it misreads, each with its answer and its label."),
                 code(MISREAD)]
    for text, picture in OWN_PICTURES[lesson]:
        tail += [md(text), code(picture)]
    notebook = nbformat.v4.new_notebook(cells=[md(title), code(FIND_REPOSITORY)] + [
        md(cell.source) if cell.cell_type == "markdown" else code(cell.source)
        for cell in cells] + tail)
    notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}}
    return notebook


def run(notebook, cwd=NOTEBOOKS_DIR, timeout=3600):
    """Runs every cell in a fresh kernel started in cwd; the outputs stay in the notebook."""
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": cwd}}).execute()
    return notebook


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", metavar="LESSON",
                        help="of %s (default: all)" % ", ".join(LESSONS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.lessons) - set(LESSONS))
    if unknown:
        parser.error("no lesson %s: choose from %s" % (unknown[0], ", ".join(LESSONS)))
    os.makedirs(NOTEBOOKS_DIR, exist_ok=True)
    for lesson in args.lessons or LESSONS:
        start = time.perf_counter()
        notebook = run(notebook_of(lesson))
        path = os.path.join(NOTEBOOKS_DIR, lesson + ".ipynb")
        nbformat.write(notebook, path + ".tmp")
        os.replace(path + ".tmp", path)
        print("%s: %.0f s, %.0f kB" % (path, time.perf_counter() - start,
                                       os.path.getsize(path) / 1e3), flush=True)


if __name__ == "__main__":
    sys.exit(main())
