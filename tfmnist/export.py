"""A trained classifier as a SavedModel, TensorFlow's format for serving: the model leaves the
training script, and TensorFlow Serving, saved_model_cli or another program loads it.

The signature, serving_default: images float32 [batch, 784] in [0, 1] -> probabilities
float32 [batch, 10] and classes int64 [batch]. The graph is the model alone, rebuilt as its
run trained it, with the run's last checkpoint in it.
"""
import os
import shutil
import tempfile

from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf

SIGNATURE = "serving_default"


def is_saved_model(path):
    """True if the directory holds a SavedModel (its saved_model.pb, of whatever kind: the
    loader checks that it is a file it can read)."""
    return bool(path) and os.path.lexists(os.path.join(path, "saved_model.pb"))


def check_target(export_dir):
    """Raises UsageError unless export_dir is new or an empty directory, in a place where a
    directory can be made: checked before training, not after it."""
    if os.path.exists(export_dir) and (not os.path.isdir(export_dir) or os.listdir(export_dir)):
        raise UsageError("--export %s: it exists and is not an empty directory; choose a new one"
                         % export_dir)
    existing = os.path.dirname(os.path.abspath(export_dir))
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)  # write() makes the directories below it
    if not os.path.isdir(existing):
        raise UsageError("--export %s: %s is not a directory" % (export_dir, existing))
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".export-probe-", dir=existing))
    except OSError as e:
        raise UsageError("--export %s: cannot write there: %s" % (export_dir, e.strerror or e))


def export_run(script, run_dir, target):
    """Writes the model a run trained as a SavedModel in target (--export)."""
    from tfmnist import classifiers, lessons  # which import this module

    name = lessons.name_of(script)
    predictor = classifiers.Predictor.from_checkpoint(classifiers.inference_of(name, run_dir),
                                                      run_dir, name, finalize=False)
    try:
        print("SavedModel: %s" % write(predictor, target))
    finally:
        predictor.close()


def write(predictor, export_dir):
    """Writes a classifier, loaded from its checkpoint (classifiers.load), as a SavedModel
    in export_dir (new or empty), whole or not at all."""
    check_target(export_dir)
    parent = os.path.dirname(os.path.abspath(export_dir))
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    except OSError as e:
        raise UsageError("--export %s: cannot write there: %s" % (export_dir, e.strerror or e))
    try:
        with predictor.graph.as_default():
            classes = predictor.graph.get_operation_by_name("classes").outputs[0]
            builder = tf.saved_model.builder.SavedModelBuilder(os.path.join(staging, "model"))
            builder.add_meta_graph_and_variables(
                predictor.session, [tf.saved_model.tag_constants.SERVING], signature_def_map={
                    SIGNATURE: tf.saved_model.signature_def_utils.predict_signature_def(
                        inputs={"images": predictor.images},
                        outputs={"probabilities": predictor.probabilities_op,
                                 "classes": classes})},
                strip_default_attrs=True)
            builder.save()
        if os.path.isdir(export_dir):
            os.rmdir(export_dir)  # empty: checked above
        os.replace(os.path.join(staging, "model"), export_dir)
    except (tf.errors.OpError, OSError) as e:
        raise UsageError("--export %s: cannot write the SavedModel: %s"
                         % (export_dir, error_reason(e)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return export_dir
