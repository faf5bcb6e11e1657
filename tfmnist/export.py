"""A trained classifier as a SavedModel, TensorFlow's format for serving: the model leaves the
training script, and TensorFlow Serving, saved_model_cli or another program loads it.

The signature, serving_default: images float32 [batch, 784] in [0, 1] -> probabilities
float32 [batch, 10] and classes int64 [batch]. The graph is the model alone, rebuilt as its
run trained it, with the run's last checkpoint in it.
"""
import os
import shutil
import tempfile

from tfmnist import checkpoints
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf

SIGNATURE = "serving_default"


def is_saved_model(path):
    """True if the directory holds a SavedModel."""
    return bool(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))


def check_target(export_dir):
    """Raises UsageError unless export_dir is new or an empty directory."""
    if os.path.exists(export_dir) and (not os.path.isdir(export_dir) or os.listdir(export_dir)):
        raise UsageError("--export %s: it exists and is not an empty directory; choose a new one"
                         % export_dir)


def write(inference, run_dir, export_dir):
    """Writes a classifier, trained in run_dir, as a SavedModel in export_dir (new or empty),
    whole or not at all. inference: its function from images to logits, as its run trained
    it (classifiers.inference_of)."""
    check_target(export_dir)
    parent = os.path.dirname(os.path.abspath(export_dir))
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    except OSError as e:
        raise UsageError("--export %s: cannot write there: %s" % (export_dir, e.strerror or e))
    try:
        with tf.Graph().as_default():
            images = tf.placeholder(tf.float32, [None, 784], name="images")
            logits = inference(images)
            probabilities = tf.nn.softmax(logits, name="probabilities")
            classes = tf.argmax(logits, axis=1, name="classes")
            with tf.Session() as sess:
                checkpoints.restore(sess, tf.train.Saver(), run_dir, tf.global_variables())
                builder = tf.saved_model.builder.SavedModelBuilder(
                    os.path.join(staging, "model"))
                builder.add_meta_graph_and_variables(
                    sess, [tf.saved_model.tag_constants.SERVING], signature_def_map={
                        SIGNATURE: tf.saved_model.signature_def_utils.predict_signature_def(
                            inputs={"images": images},
                            outputs={"probabilities": probabilities, "classes": classes})},
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


class Loaded:
    """A SavedModel loaded into a session of its own; probabilities(images) answers."""

    def __init__(self, export_dir):
        self.graph = tf.Graph()
        self.session = tf.Session(graph=self.graph)
        try:
            meta_graph = tf.saved_model.loader.load(
                self.session, [tf.saved_model.tag_constants.SERVING], export_dir)
        except (RuntimeError, OSError, tf.errors.OpError) as e:
            raise UsageError("cannot load the SavedModel in %s: %s" % (export_dir,
                                                                        error_reason(e)))
        signature = meta_graph.signature_def[SIGNATURE]
        self.images = self.graph.get_tensor_by_name(signature.inputs["images"].name)
        self.output = self.graph.get_tensor_by_name(signature.outputs["probabilities"].name)
        self.checkpoint = export_dir
        self.graph.finalize()

    def probabilities(self, images):
        """[N, 10] for images float32 [N, 784] in [0, 1]."""
        return self.session.run(self.output, {self.images: images})
