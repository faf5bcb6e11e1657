"""Each script on tiny data: it learns, it is reproducible, its checkpoints restore exactly,
and it can be interrupted and resumed."""
import json

import numpy as np
import pytest

from conftest import interrupt_at_call, tiny_flags
import cnn_mnist
import input_data
import mlp_mnist
import rnn_mnist
import softmax_mnist
from tfmnist.command_line import UsageError
from tfmnist.classifiers import Predictor
from tfmnist.tf1 import tf

SCRIPTS = {"softmax": softmax_mnist, "mlp": mlp_mnist, "cnn": cnn_mnist, "rnn": rnn_mnist}
# Enough steps on the tiny data (500 training images, batches of 50) to beat chance by far.
STEPS = {"softmax": 20, "mlp": 20, "cnn": 20, "rnn": 40}


@pytest.fixture(params=sorted(SCRIPTS))
def script(request):
    return request.param


def _weights(checkpoint):
    reader = tf.train.load_checkpoint(checkpoint)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_a_few_steps_lower_the_loss_beat_chance_and_restore_to_the_same_answers(
        script, shared_tiny_dir, tmp_path):
    steps = STEPS[script]
    trained = SCRIPTS[script].main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", str(steps)))
    losses = trained["losses"]
    assert len(losses) == steps and trained["global_step"] == steps
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3])
    assert trained["test_accuracy"] > 0.5  # chance is 0.1
    # Its checkpoint, restored by the loader and by --eval-only, answers as it did.
    test_images = input_data.read_data_sets(shared_tiny_dir, validation_size=100).test.images
    restored = Predictor.from_checkpoint(SCRIPTS[script].inference, str(tmp_path)).logits(
        test_images)
    np.testing.assert_allclose(restored, trained["test_logits"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(restored.argmax(1), trained["test_logits"].argmax(1))
    evaluated = SCRIPTS[script].main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))
    assert evaluated["test_accuracy"] == trained["test_accuracy"]
    assert evaluated["global_step"] == steps and evaluated["losses"] == []


def test_same_seed_same_weights_and_main_runs_twice_in_one_process(script, shared_tiny_dir,
                                                                  tmp_path):
    def train(seed, run_dir):
        return SCRIPTS[script].main(tiny_flags(shared_tiny_dir, tmp_path / run_dir,
                                               "--steps", "6", "--seed", str(seed)))

    first, second, other = train(1, "a"), train(1, "b"), train(2, "c")
    assert first["losses"] == second["losses"]
    np.testing.assert_array_equal(first["test_logits"], second["test_logits"])
    first_weights, second_weights = _weights(first["checkpoint"]), _weights(second["checkpoint"])
    for name in first_weights:
        np.testing.assert_array_equal(first_weights[name], second_weights[name])
    assert first["losses"] != other["losses"]


def test_interrupted_run_resumes_from_its_last_checkpoint(script, shared_tiny_dir, tmp_path,
                                                          monkeypatch):
    module = SCRIPTS[script]
    # Dropout draws new masks after a restart (a random op's state is not checkpointed), so
    # the CNN compares exactly without it.
    extra = ["--keep-prob", "1"] if script in ("cnn", "mlp") else []
    # 500 training images in batches of 50: a checkpoint every 10 steps, and at the end.
    whole = module.main(tiny_flags(shared_tiny_dir, tmp_path / "whole", "--steps", "25", *extra))
    flags = tiny_flags(shared_tiny_dir, tmp_path / "split", "--steps", "25", *extra)

    interrupt_at_call(monkeypatch, 23)  # Ctrl-C in the middle of the third epoch
    with pytest.raises(KeyboardInterrupt):
        module.main(flags)
    monkeypatch.undo()

    rest = module.main(flags + ["--resume"])
    assert rest["global_step"] == 25 and len(rest["losses"]) == 5  # from step 20's checkpoint
    # The same weights, schedule and data order as the unbroken run: the same losses.
    np.testing.assert_allclose(rest["losses"], whole["losses"][20:], rtol=1e-5)
    np.testing.assert_allclose(rest["test_logits"], whole["test_logits"], rtol=1e-4, atol=1e-5)


def test_eval_only_without_a_checkpoint_is_a_clear_error(script, shared_tiny_dir, tmp_path):
    with pytest.raises(UsageError, match="no checkpoint in .*: train first"):
        SCRIPTS[script].main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))


def test_a_checkpoint_of_another_script_is_refused(shared_tiny_dir, tmp_path):
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "1"))
    with pytest.raises(UsageError, match="does not fit this model: it has no "
                                                      "variable conv1/weights"):
        cnn_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--eval-only"))


def test_a_run_from_before_a_flag_existed_is_refused_in_one_line(shared_tiny_dir, tmp_path,
                                                                 monkeypatch):
    # Its config.json does not say how it trained: resuming it could only guess. (One run,
    # and each flag taken out of its config.json in turn.)
    flags = tiny_flags(shared_tiny_dir, tmp_path, "--steps", "12")
    interrupt_at_call(monkeypatch, 11)  # after the checkpoint of step 10, the first epoch's
    with pytest.raises(KeyboardInterrupt):
        cnn_mnist.main(flags)
    monkeypatch.undo()
    config_path = tmp_path / "config.json"
    config = json.loads(config_path.read_text())
    for key in ("max_shift", "replicas"):
        config_path.write_text(json.dumps({k: v for k, v in config.items() if k != key}))
        with pytest.raises(UsageError, match=r"was trained by an older version of "
                                             r"cnn_mnist\.py \(its config\.json has no '%s'\): "
                                             r"train it again" % key):
            cnn_mnist.main(flags + ["--resume"])
        assert cnn_mnist.main(flags + ["--eval-only"])["global_step"] == 10
