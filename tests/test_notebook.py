"""The programs in a real Jupyter kernel, as people study them: each pasted whole into a cell
and run twice, `%run SCRIPT --help` (where TF1 tutorials with absl flags used to break), the
README's blocks, and the notebooks, made from the lessons and run top to bottom."""
import inspect
import os
import re
import textwrap

import pytest

from conftest import REPO_DIR
import cnn_mnist

SCRIPTS = ("softmax_mnist", "mlp_mnist", "cnn_mnist", "rnn_mnist")


# Every program a student studies, pasted whole into one cell: the lessons and the demos.
PASTED = ("softmax_mnist", "mlp_mnist", "cnn_mnist", "rnn_mnist", "autoencoder_mnist",
          "batch_norm_demo", "gradient_descent_demo", "variable_scope_demo", "transfer_mnist")


@pytest.mark.slow  # a Jupyter kernel, a process of its own
def test_each_program_pasted_whole_into_a_cell_runs_with_its_defaults_twice(shared_tiny_dir,
                                                                          tmp_path):
    """As a student pastes a whole file into a cell of a kernel started in the repository,
    and runs the cell twice: each with its defaults plus a few flags that make it tiny, added
    where the pasted program parses an empty command line (had it read the kernel's own, -f
    kernel.json, it would stop there)."""
    nbformat, NotebookClient, CellExecutionError = jupyter()
    tiny = ["--data-dir", shared_tiny_dir, "--validation-size", "100", "--batch-size", "50"]
    lessons = tiny + ["--steps", "3", "--log-every", "1000"]
    tiny_flags = {name + ".py": lessons for name in PASTED if name.endswith("_mnist")}
    tiny_flags.update({
        "batch_norm_demo.py": tiny + ["--epochs", "0.2"],
        "gradient_descent_demo.py": ["--steps", "5"],
        "variable_scope_demo.py": tiny + ["--steps", "3", "--rows", "7,28"],
        "transfer_mnist.py": ["--data-dir", shared_tiny_dir, "--batch-size", "50",
                              "--source-steps", "3", "--steps", "3", "--labels", "100"]})
    cells = [tiny_defaults_cell(tiny_flags, tmp_path / "runs")]
    for name in PASTED:
        with open(os.path.join(REPO_DIR, name + ".py")) as f:
            cells += [f.read()] * 2  # the same cell, run twice
    # And %run, with flags of its own (argparse's, never absl's, which broke in kernels).
    cells.append("%run cnn_mnist.py --help")
    cells.append("%run softmax_mnist.py " + " ".join(tiny_flags["softmax_mnist.py"]))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    before = sorted(os.listdir(REPO_DIR))
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": REPO_DIR}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail("a pasted program failed:\n%s" % error)

    outputs = ["".join(output.get("text", "") for output in cell.outputs)
               for cell in notebook.cells]
    for index, name in enumerate(PASTED):
        first, second = outputs[1 + 2 * index:3 + 2 * index]
        assert "Error" not in first + second, (name, first, second)
        if name.endswith("_mnist") and name != "transfer_mnist":
            assert re.search(r"^test [a-z ]+: \d\.\d{4}$", second, re.M), (name, second)
            assert str(tmp_path / "runs" / name / "2") in second, (name, second)
    assert "usage: cnn_mnist.py" in outputs[-2] and "--keep-prob" in outputs[-2]
    assert re.search(r"^test accuracy: [01]\.\d{4}$", outputs[-1], re.M)
    assert str(tmp_path / "runs" / "softmax_mnist" / "3") in outputs[-1]
    assert sorted(os.listdir(REPO_DIR)) == before  # nothing written in the repository


def tiny_defaults_cell(tiny_flags, runs_dir):
    """A first cell that makes the programs' defaults tiny: where a parser named in
    tiny_flags parses an empty command line, it parses its tiny flags instead; one that reads
    the kernel's own command line (-f kernel.json) fails. Runs go to runs_dir."""
    return textwrap.dedent("""\
        import argparse
        import sys
        sys.path.insert(0, {repo!r})
        from tfmnist import rundirs
        rundirs.RUNS_DIR = {runs!r}
        TINY = {tiny!r}
        _parse_args = argparse.ArgumentParser.parse_args

        def parse_args(self, args=None, namespace=None):
            if args is None:  # sys.argv's: %run's own, or the kernel's, which is no program's
                args = sys.argv[1:]
                if "-f" in args:
                    raise AssertionError("%s read the kernel's command line" % self.prog)
            if list(args) == [] and self.prog in TINY:
                args = TINY[self.prog]
            return _parse_args(self, args, namespace)

        argparse.ArgumentParser.parse_args = parse_args
        """).format(repo=REPO_DIR, runs=str(runs_dir), tiny=tiny_flags)


NOTEBOOK_FLOORS = {"softmax_mnist": ("accuracy", 0.92), "mlp_mnist": ("accuracy", 0.98),
                   "cnn_mnist": ("accuracy", 0.992), "rnn_mnist": ("accuracy", 0.985),
                   "autoencoder_mnist": ("reconstruction error", 0.045)}


def stored_notebook(lesson):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(os.path.join(REPO_DIR, "notebooks", lesson + ".ipynb"), as_version=4)


@pytest.mark.parametrize("lesson", sorted(NOTEBOOK_FLOORS))
def test_each_notebook_is_made_from_its_lesson_and_keeps_a_real_run(lesson):
    """notebooks/LESSON.ipynb holds the cells tools/make_notebooks.py makes from LESSON.py
    today (regenerate it when the lesson changes), and the outputs of a default run: the
    test figure at the lesson's floor and the pictures."""
    pytest.importorskip("jupytext")  # requirements-test.txt has it; TF 1.15's set does not
    import make_notebooks

    stored = stored_notebook(lesson)
    made = make_notebooks.notebook_of(lesson)
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in made.cells], (
        "notebooks/%s.ipynb is not made from %s.py as it is now: run "
        "`python tools/make_notebooks.py %s`" % (lesson, lesson, lesson))
    with open(os.path.join(REPO_DIR, lesson + ".py")) as f:
        lesson_source = f.read()
    code = [c.source for c in stored.cells if c.cell_type == "code"]
    from_lesson = sum(len(source) for source in code if source in lesson_source)
    assert from_lesson >= 0.8 * sum(len(source) for source in code)
    prose = [c for c in stored.cells if c.cell_type == "markdown" and "# %% [markdown]\n" + "\n"
             .join("# " + line for line in c.source.split("\n")) in lesson_source]
    assert len(prose) >= 3  # the lesson's own prose, beside the notebook's title and captions
    outputs = [output for c in stored.cells if c.cell_type == "code" for output in c.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs)
    metric, floor = NOTEBOOK_FLOORS[lesson]
    [figure] = re.findall(r"^test %s: (\d\.\d{4})$" % metric, text, re.M)
    assert (float(figure) <= floor) if metric.endswith("error") else (float(figure) >= floor)
    pictures = [output["data"]["image/png"] for output in outputs
                if "image/png" in output.get("data", {})]
    assert len(pictures) >= 2 and max(len(png) for png in pictures) < 1.4e6  # base64 of 1 MB


@pytest.mark.slow  # a Jupyter kernel, a process of its own
def test_every_notebook_runs_top_to_bottom_in_a_kernel(shared_tiny_dir, tmp_path):
    """The five notebooks, each cell in turn, in one kernel started in notebooks/ as Jupyter
    starts it, on tiny data (the first cell makes the defaults tiny)."""
    nbformat, NotebookClient, CellExecutionError = jupyter()
    tiny = ["--data-dir", shared_tiny_dir, "--validation-size", "100", "--batch-size", "50",
            "--steps", "3", "--log-every", "1000"]
    cells = [tiny_defaults_cell({lesson + ".py": tiny for lesson in NOTEBOOK_FLOORS},
                                tmp_path / "runs")]
    for lesson in sorted(NOTEBOOK_FLOORS):
        cells += [c.source for c in stored_notebook(lesson).cells if c.cell_type == "code"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": os.path.join(REPO_DIR, "notebooks")}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail("a notebook cell failed:\n%s" % error)
    outputs = [output for cell in notebook.cells for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    assert len(re.findall(r"^test (accuracy|reconstruction error): ", text, re.M)) == 5
    assert sum("image/png" in output.get("data", {}) for output in outputs) >= 10


def jupyter():
    """(nbformat, NotebookClient, CellExecutionError): requirements-test.txt installs them
    (requirements-tf115.txt, for TensorFlow 1.15, does not)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from nbclient.exceptions import CellExecutionError

    return nbformat, nbclient.NotebookClient, CellExecutionError


def readme_python_blocks(section):
    """The ```python blocks of a README section (## TITLE), in order."""
    with open(os.path.join(REPO_DIR, "README.md")) as f:
        text = f.read()
    body = text[text.index("\n## %s\n" % section):]
    body = body[:body.find("\n## ", 4)]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def cnn_loop_source():
    """cnn_mnist.main's graph and loop, from `with tf.Graph()` to `metrics = run.finish()`,
    dedented to the first line's level."""
    source = inspect.getsource(cnn_mnist.main)
    start = source.index("    with tf.Graph().as_default():")
    end = source.index("metrics = run.finish()\n") + len("metrics = run.finish()\n")
    return textwrap.dedent(source[start:end])


def test_the_readme_shows_cnn_mnists_own_loop():
    [loop] = readme_python_blocks("The lessons")
    assert textwrap.indent(loop, " " * 8) in cnn_loop_source()
    *_, pasted = readme_python_blocks("In a notebook")
    assert pasted.startswith(cnn_loop_source())


@pytest.mark.slow  # a Jupyter kernel, a process of its own
def test_the_readme_notebook_blocks_run_as_written(tmp_path):
    nbformat, NotebookClient, CellExecutionError = jupyter()
    blocks = readme_python_blocks("In a notebook")
    assert len(blocks) == 3
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(block)
                                               for block in blocks])
    # In the repository, as the README says; --no-save writes nothing there.
    before = sorted(os.listdir(REPO_DIR))
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": REPO_DIR}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail("a README block failed:\n%s" % error)
    outputs = ["".join(output.get("text", "") + output.get("data", {}).get("text/plain", "")
                       for output in cell.outputs) for cell in notebook.cells]
    assert re.search(r"^test accuracy: 0\.\d{4}$", outputs[0], re.M)
    assert re.search(r"^step 100/100 ", outputs[2], re.M)
    accuracy = float(re.findall(r"^test accuracy: (0\.\d{4})$", outputs[2], re.M)[0])
    assert accuracy > 0.8  # 100 steps of the CNN
    assert sorted(os.listdir(REPO_DIR)) == before
