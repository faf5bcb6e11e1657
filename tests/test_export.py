"""--export: a trained classifier as a SavedModel, loaded in a fresh process, by
saved_model_cli, classify.py and draw.py, with the checkpoint's answers."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_DIR, tiny_flags
import classify
import draw
import input_data
import mlp_mnist
import softmax_mnist
from tfmnist import classifiers, rundirs
from tfmnist.command_line import UsageError
from tfmnist.classifiers import Predictor

LOAD_AND_ANSWER = """
import json, sys
import numpy as np
from tfmnist.tf1 import tf  # TensorFlow alone: nothing else of the project is imported
images = np.load(sys.argv[1])
answers = []
for export_dir, answers_file in zip(sys.argv[2::2], sys.argv[3::2]):
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, ["serve"], export_dir)
        signature = meta.signature_def["serving_default"]
        probabilities, classes = sess.run(
            [signature.outputs["probabilities"].name, signature.outputs["classes"].name],
            {signature.inputs["images"].name: images})
    np.save(answers_file, probabilities)
    answers.append(classes.tolist())
print(json.dumps(answers))
"""


@pytest.mark.slow
def test_an_export_answers_as_its_checkpoint_in_a_fresh_process(shared_tiny_dir, tmp_path):
    # Each classifier's export (one fresh process loads them all, in turn).
    exports = [(softmax_mnist, "softmax", []),
               (mlp_mnist, "mlp", ["--activation", "tanh", "--hidden", "32"])]
    images = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test.images
    np.save(tmp_path / "images.npy", images)
    arguments = []
    for script, name, extra in exports:
        run_dir, export_dir = tmp_path / name / "run", tmp_path / name / "export"
        script.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "10", "--export",
                               str(export_dir), *extra))
        arguments += [str(export_dir), str(tmp_path / name / "answers.npy")]
    result = subprocess.run([sys.executable, "-c", LOAD_AND_ANSWER,
                             str(tmp_path / "images.npy"), *arguments],
                            capture_output=True, text=True, cwd=REPO_DIR)
    assert result.returncode == 0, result.stderr
    for (_, name, _), classes in zip(exports, json.loads(result.stdout)):
        run_dir = str(tmp_path / name / "run")
        logits = Predictor.from_checkpoint(classifiers.inference_of(name, run_dir),
                                           run_dir).logits(images)
        expected = np.exp(logits - logits.max(1, keepdims=True))
        expected /= expected.sum(1, keepdims=True)
        np.testing.assert_allclose(np.load(tmp_path / name / "answers.npy"), expected,
                                   atol=1e-6)
        assert classes == logits.argmax(1).tolist()


@pytest.mark.slow
def test_saved_model_cli_describes_it(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3",
                                  "--export", str(tmp_path / "export")))
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        cli = shutil.which("saved_model_cli")
    result = subprocess.run([cli, "show", "--dir", str(tmp_path / "export"), "--all"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for words in ("signature_def['serving_default']", "inputs['images']",
                  "outputs['probabilities']", "outputs['classes']", "shape: (-1, 784)"):
        assert words in result.stdout


def test_classify_and_draw_read_an_export(shared_tiny_dir, tmp_path):
    run_dir, export_dir = str(tmp_path / "run"), str(tmp_path / "export")
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "10"))
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--eval-only", "--export",
                                  export_dir))  # an existing run, exported
    image = str(tmp_path / "digit.png")
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 10)).save(image)
    from_checkpoint = classify.classify([image], "softmax", run_dir)[image].probabilities
    from_export = classify.classify([image], "softmax", export_dir)[image].probabilities
    np.testing.assert_allclose(from_export, from_checkpoint, atol=1e-6)
    models, _ = draw.load_models({"softmax": export_dir})
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 12:16] = 1.0
    assert models["softmax"].probabilities(digit.reshape(1, 784))[0].shape == (10,)


def test_an_export_never_overwrites_or_is_left_half_written(shared_tiny_dir, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="--export .*occupied: it exists and is not an empty "
                                         "directory; choose a new one"):
        softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "3",
                                      "--export", str(occupied)))
    assert os.listdir(occupied) == ["keep.txt"] and not (tmp_path / "run").exists()
    assert [name for name in os.listdir(tmp_path) if name.startswith(".export")] == []
    with pytest.raises(SystemExit):
        softmax_mnist.main(["--no-save", "--export", str(tmp_path / "x")])


def foreign_saved_model(path, signature="serving_default", input_name="images",
                        shape=(None, 784), dtype="float32", classes=10, more_outputs=0,
                        nan=False):
    """A SavedModel that another program might have written: a linear model whose one
    signature has this name, input and output shape (and more outputs; NaN answers)."""
    from tfmnist.tf1 import tf

    with tf.Graph().as_default():
        images = tf.placeholder(getattr(tf, dtype), list(shape), name="input")
        flat = tf.reshape(tf.cast(images, tf.float32), [-1, int(np.prod(shape[1:]))])
        weights = tf.Variable(tf.zeros([int(np.prod(shape[1:])), classes]))
        probabilities = tf.nn.softmax(tf.matmul(flat, weights)) * (float("nan") if nan else 1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            builder = tf.saved_model.builder.SavedModelBuilder(str(path))
            builder.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={
                    signature: tf.saved_model.signature_def_utils.predict_signature_def(
                        inputs={input_name: images},
                        outputs=dict({"probabilities": probabilities}, **{
                            "output_%d" % index: probabilities
                            for index in range(more_outputs)}))})
            builder.save()
    return str(path)


@pytest.mark.parametrize("kind, words", [
    (dict(signature="predict"), "it has no 'serving_default' signature (it has: predict)"),
    (dict(input_name="x"), "its signature has no input 'images' (it has: x)"),
    (dict(shape=(None, 28, 28)), "its input 'images' is float32 [None, 28, 28], not float32 "
                                 "[None, 784]"),
    (dict(classes=5), "its output 'probabilities' is float32 [None, 5], not float32 "
                      "[None, 10]"),
    (dict(dtype="uint8"), "its input 'images' is uint8 [None, 784], not float32 [None, 784]"),
    ("no variables", "cannot load the SavedModel in"),
    (dict(more_outputs=4), "its signature has outputs an export of this project has not: "
                           "output_0, output_1, output_2, output_3"),
    (dict(nan=True), "answers what is not a probability for each of the 10 digits"),
])
def test_a_saved_model_that_is_not_ours_is_refused_in_one_line(shared_tiny_dir, tmp_path,
                                                                capsys, monkeypatch, kind, words):
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))  # not the user's runs
    bad = foreign_saved_model(tmp_path / "foreign", **(kind if isinstance(kind, dict) else {}))
    if kind == "no variables":
        shutil.rmtree(os.path.join(bad, "variables"))
    image = str(tmp_path / "digit.png")
    Image.fromarray(np.pad(np.full((20, 4), 255, np.uint8), 10)).save(image)
    from conftest import command

    assert command([image, "--model", "softmax", "--run-dir", bad], classify) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and words in err.strip().splitlines()[-1], err
    # draw.py serves the good models given beside it, and leaves this one out in one line.
    good_run, good = str(tmp_path / "run"), str(tmp_path / "export")
    softmax_mnist.main(tiny_flags(shared_tiny_dir, good_run, "--steps", "3", "--export", good))
    models, missing = draw.load_models({"softmax": good, "cnn": bad})
    assert list(models) == ["softmax"] and "cnn" in missing
    assert words in capsys.readouterr().err
