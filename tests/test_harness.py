"""The shared harness's contracts: a model served as its run trained it, a run that writes
nothing, the loop's schedule, and no process-wide change at import."""
import glob
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import REPO_DIR, tiny_flags
import draw
import input_data
import mlp_mnist
import softmax_mnist
from tfmnist import classifiers, rundirs
from tfmnist.classifiers import Predictor
from tfmnist.evaluation import Classifier


@pytest.mark.parametrize("model_flags", [["--activation", "tanh"], ["--activation", "sigmoid"],
                                         ["--hidden", "64"], ["--batch-norm"]])
def test_a_model_is_served_as_its_run_trained_it(shared_tiny_dir, tmp_path, model_flags):
    trained = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "20",
                                        *model_flags))
    test = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test
    inference = classifiers.inference_of("mlp", str(tmp_path))
    served = Predictor.from_checkpoint(inference, str(tmp_path)).logits(test.images)
    np.testing.assert_allclose(served, trained["test_logits"], rtol=1e-5, atol=1e-5)


def test_draw_serves_every_model_beside_an_mlp_of_another_shape(shared_tiny_dir, tmp_path,
                                                                monkeypatch):
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))
    flags = ["--data-dir", shared_tiny_dir, "--validation-size", "100", "--batch-size", "50",
             "--steps", "3"]
    softmax_mnist.main(flags)
    mlp_mnist.main(flags + ["--hidden", "64", "--batch-norm"])
    models, missing = draw.load_models()
    assert sorted(models) == ["mlp", "softmax"] and sorted(missing) == ["cnn", "rnn"]


def test_eval_only_takes_the_runs_model_flags_and_refuses_others(shared_tiny_dir, tmp_path):
    from tfmnist.command_line import UsageError

    trained = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3",
                                        "--activation", "tanh", "--hidden", "32"))
    evaluated = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))
    assert evaluated["global_step"] == 3
    np.testing.assert_allclose(evaluated["test_logits"], trained["test_logits"], rtol=1e-6)
    with pytest.raises(UsageError, match=r"--eval-only with other model flags than .* was "
                                         r"started with: --activation relu \(was tanh\)"):
        mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only", "--activation",
                                  "relu"))


def test_resume_continues_with_the_runs_own_flags(shared_tiny_dir, tmp_path):
    flags = ["--steps", "25", "--learning-rate", "0.5", "--seed", "3"]
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "whole", *flags))
    whole = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path / "whole", "--eval-only"))
    interrupted = tmp_path / "split"
    import conftest

    with pytest.MonkeyPatch.context() as patch:
        conftest.interrupt_at_call(patch, 15)
        with pytest.raises(KeyboardInterrupt):
            softmax_mnist.main(tiny_flags(shared_tiny_dir, interrupted, *flags))
    resumed = softmax_mnist.main(tiny_flags(shared_tiny_dir, interrupted, "--resume"))
    assert resumed["global_step"] == 25 and len(resumed["losses"]) == 15
    assert resumed["test_accuracy"] == whole["test_accuracy"]


def test_an_eager_run_is_evaluated_in_graph_mode(shared_tiny_dir, tmp_path, capsys):
    trained = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "5", "--eager"))
    evaluated = mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))
    assert evaluated["global_step"] == 5
    assert evaluated["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-6)
    # Its checkpoint holds no optimizer state: graph mode's --resume says why it cannot.
    with pytest.raises(SystemExit):  # it takes the run's --eager, and eager cannot resume
        mlp_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "5", "--resume"))
    assert ("--resume continues graph-mode runs only; an --eager run starts afresh"
            in capsys.readouterr().err)


def test_no_save_trains_and_writes_nothing(shared_tiny_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(tmp_path)
    result = softmax_mnist.main(["--data-dir", shared_tiny_dir, "--validation-size", "100",
                                 "--batch-size", "50", "--steps", "12", "--no-save"])
    assert result["run_dir"] is None and result["checkpoint"] is None
    assert result["global_step"] == 12 and len(result["losses"]) == 12
    assert os.listdir(tmp_path) == []
    assert "nothing is written (--no-save)" in capsys.readouterr().out


def test_the_loop_validates_at_each_epochs_end_and_logs_every_n(shared_tiny_dir, tmp_path,
                                                                capsys):
    # 500 training images in batches of 75: epochs end inside steps 7, 14 and 20 (the last).
    result = softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--epochs", "3",
                                           "--batch-size", "75", "--log-every", "6"))
    assert [v["step"] for v in result["validations"]] == [7, 14, 20]
    assert [line["step"] for line in result["progress"]] == [6, 12, 18, 20]
    assert "step 20/20" in capsys.readouterr().out


def test_evaluation_honours_its_batch_size(shared_tiny_dir):
    test = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test

    class CountingSession:
        batches = []

        def run(self, fetches, feed_dict):
            size = len(next(iter(feed_dict.values())))
            self.batches.append(size)
            return [size // 2, np.zeros((size, 10), np.float32)]

    sess = CountingSession()
    accuracy, logits = Classifier("x", "y_", "logits", "count").evaluate(sess, test, 64)
    assert sess.batches == [64, 64, 64, 8] and logits.shape == (200, 10)
    assert accuracy == sum(size // 2 for size in sess.batches) / 200


@pytest.mark.skipif(sys.version_info < (3, 8), reason="threading.excepthook is Python 3.8's")
def test_a_run_quiets_the_log_writer_thread_only_while_it_runs(shared_tiny_dir, tmp_path,
                                                                monkeypatch):
    hook = threading.excepthook
    during = []
    next_batch = input_data.DataSet.next_batch
    monkeypatch.setattr(input_data.DataSet, "next_batch", lambda self, *args, **kwargs: (
        during.append(threading.excepthook), next_batch(self, *args, **kwargs))[1])
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "3"))
    assert len(during) == 3 and all(h is not hook for h in during)
    assert threading.excepthook is hook


@pytest.mark.slow  # a fresh Python, to see what a lesson loads
def test_a_new_run_loads_neither_the_serving_code_nor_the_reading_back(shared_tiny_dir,
                                                                        tmp_path):
    """A lesson trains a new run with the harness alone: no classifiers, SavedModels or
    photos, and not restoring.py, which --resume and --eval-only load; the project's lines
    it loads, beyond the lesson and input_data.py, stay under a bound (issue 38: 900).
    Importing the project's modules, and its runs, change nothing process-wide (its hooks
    and Ctrl-C's handler)."""
    script = """if 1:
        import json, os, signal, sys, threading
        def hooks():
            return threading.excepthook, sys.excepthook, signal.getsignal(signal.SIGINT)
        before = hooks()
        import softmax_mnist, cnn_mnist, rnn_mnist
        assert hooks() == before, (hooks(), before)
        def weight():
            files = {m.__file__ for m in list(sys.modules.values())  # the project's own
                     if os.path.dirname(getattr(m, "__file__", None) or "") == %(repo)r
                     or (getattr(m, "__name__", "") + ".").startswith("tfmnist.")}
            return sum(sum(1 for _ in open(f)) for f in files
                       if os.path.basename(f) not in ("input_data.py", "softmax_mnist.py",
                                                      "cnn_mnist.py", "rnn_mnist.py"))
        imported = weight()
        flags = %(flags)r
        softmax_mnist.main(flags + ["--run-dir", %(run)r])
        cnn_mnist.main(flags + ["--no-save"])
        trained = sorted(m for m in sys.modules if m.startswith("tfmnist"))
        softmax_mnist.main(flags + ["--run-dir", %(run)r, "--eval-only"])
        evaluated = sorted(m for m in sys.modules if m.startswith("tfmnist"))
        import classify, draw, distributed_mnist  # the serving code and the cluster's
        assert hooks() == before, (hooks(), before)
        print("MODULES", json.dumps([imported, trained, evaluated]))
    """ % {"repo": REPO_DIR, "run": str(tmp_path / "run"),
           "flags": ["--data-dir", shared_tiny_dir, "--validation-size", "100",
                     "--batch-size", "50", "--steps", "3", "--log-every", "1000"]}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_DIR, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("MODULES ")]
    imported, trained, evaluated = json.loads(line[len("MODULES "):])
    for module in ("tfmnist.classifiers", "tfmnist.export", "tfmnist.photos",
                   "tfmnist.restoring", "tfmnist.distributed"):
        assert module not in trained
    assert "tfmnist.restoring" in evaluated
    assert imported <= 1160  # today's 1,155 lines (cnn_mnist, rnn_mnist): no growth


@pytest.mark.skipif(sys.version_info < (3, 8), reason="ast's end_lineno: Python 3.8")
def test_no_function_or_class_is_over_120_lines():
    # What a reader takes in at once (issue 38): a longer one is split where it has a seam.
    import ast

    long = []
    for path in glob.glob(os.path.join(REPO_DIR, "*.py")) + glob.glob(
            os.path.join(REPO_DIR, "tfmnist", "**", "*.py"), recursive=True):
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.end_lineno - node.lineno + 1 > 120:
                    long.append("%s: %s" % (os.path.basename(path), node.name))
    assert long == []
