"""The scripts in a real Jupyter kernel, as people study them: each main called twice in one
kernel, and `%run SCRIPT --help`, where TF1 tutorials with absl flags used to break."""
import inspect
import json
import os
import re
import textwrap

import pytest

from conftest import REPO_DIR
import cnn_mnist

SCRIPTS = ("softmax_mnist", "mlp_mnist", "cnn_mnist", "rnn_mnist")


@pytest.mark.slow  # a Jupyter kernel, a process of its own
def test_each_script_runs_twice_in_one_kernel_and_percent_run_works(shared_tiny_dir, tmp_path):
    nbformat, NotebookClient, CellExecutionError = jupyter()
    flags = ["--data-dir", shared_tiny_dir, "--validation-size", "100", "--batch-size", "50",
             "--steps", "3", "--log-every", "1000"]
    # The runs go where they go by default, runs/SCRIPT/N, with runs/ in the temporary directory.
    cells = ["import sys\nsys.path.insert(0, %r)\n"
             "from tfmnist import rundirs\nrundirs.RUNS_DIR = %r"
             % (REPO_DIR, str(tmp_path / "runs"))]
    for script in SCRIPTS:
        cells.append(
            "import {0}\n"
            "first = {0}.main({1})\n"
            "second = {0}.main({1})  # the same cell, run again\n"
            "assert first['test_accuracy'] == second['test_accuracy'], (first, second)\n"
            "assert (first['run_dir'], second['run_dir']) == ({2!r}, {3!r})\n"
            "print('RESULT', '{0}', second['test_accuracy'])".format(
                script, json.dumps(flags), str(tmp_path / "runs" / script / "1"),
                str(tmp_path / "runs" / script / "2")))
    cells.append("%cd {0}\n%run cnn_mnist.py --help".format(REPO_DIR))
    cells.append("%run softmax_mnist.py --steps 2 --data-dir {0} --validation-size 100 "
                 "--batch-size 50 --run-dir {1}".format(shared_tiny_dir, tmp_path / "run"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])

    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail("a notebook cell failed:\n%s" % error)

    errors = [output for cell in notebook.cells for output in cell.outputs
              if output.output_type == "error"]
    assert not errors
    outputs = ["".join(output.get("text", "") for output in cell.outputs)
               for cell in notebook.cells]
    for index, script in enumerate(SCRIPTS, start=1):
        # The cell's own result line, and the accuracy main printed: the same figure.
        [result] = re.findall(r"^RESULT %s ([01]\.\d+)$" % script, outputs[index], re.M)
        printed = re.findall(r"^test accuracy: ([01]\.\d{4})$", outputs[index], re.M)
        assert len(printed) == 2 and printed[1] == "%.4f" % float(result)
    assert "usage: cnn_mnist.py" in outputs[5] and "--keep-prob" in outputs[5]
    assert re.search(r"^test accuracy: [01]\.\d{4}$", outputs[6], re.M)


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
