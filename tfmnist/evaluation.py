"""Exact evaluation in batches: every example counted once, the last batch partial.

    correct_count, accuracy = evaluation(logits, y_)          # in the graph
    accuracy, logits = Classifier(x, y_, logits, correct_count).evaluate(sess, mnist.test)
"""
import numpy as np

from tfmnist.tf1 import tf

BATCH_SIZE = 1000  # examples per evaluation batch
MISCLASSIFIED_IMAGES = 12  # misclassified test digits shown in TensorBoard after training


def evaluation(logits, labels):
    """Returns (correct_count, accuracy) of a batch.

    correct_count is the number of examples whose top logit is the label: summed over the
    batches of a set, it gives the set's exact accuracy (see Classifier.evaluate).
    """
    correct_count = tf.reduce_sum(tf.cast(tf.nn.in_top_k(logits, labels, 1), tf.int32))
    accuracy = tf.cast(correct_count, tf.float32) / tf.cast(tf.shape(labels)[0], tf.float32)
    return correct_count, accuracy


def run_in_batches(sess, tensor, x, images, batch_size=BATCH_SIZE):
    """The values of `tensor` for every image, fed to x in batches (the last one partial)."""
    return np.concatenate([sess.run(tensor, feed_dict={x: images[start:start + batch_size]})
                           for start in range(0, len(images), batch_size)])


def variables_behind(tensor, candidates):
    """Those of the variables `candidates` whose values `tensor` is computed from: what
    evaluating needs restored (the optimizer's own variables are not among them)."""
    wanted = {variable.op: variable for variable in candidates}
    found, seen, stack = [], set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in wanted:
            found.append(wanted[op])
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    return [variable for variable in candidates if variable in found]


class Classifier:
    """What a training run evaluates of a classifier: its accuracy, from the correct count of
    each batch.

    Args:
      x, y_: the image and label placeholders.
      logits: the model's output.
      correct_count: the number of correct predictions in a batch (see evaluation()).
    """
    metric = "accuracy"
    outputs = "logits"

    def __init__(self, x, y_, logits, correct_count):
        self.x, self.y_, self.logits, self.correct_count = x, y_, logits, correct_count

    def evaluate(self, sess, dataset, batch_size=BATCH_SIZE):
        """(accuracy, logits) on every example of `dataset`."""
        correct = 0
        all_logits = []
        for start in range(0, dataset.num_examples, batch_size):
            feed_dict = {self.x: dataset.images[start:start + batch_size],
                         self.y_: dataset.labels[start:start + batch_size]}
            count, batch_logits = sess.run([self.correct_count, self.logits], feed_dict)
            correct += count
            all_logits.append(batch_logits)
        return correct / dataset.num_examples, np.concatenate(all_logits)

    def variables(self, candidates):
        """Those of `candidates` the logits are computed from."""
        return variables_behind(self.logits, candidates)

    def pictures(self, dataset, logits):
        """[(title, 28x28 image)] to show after training: the first misclassified test
        digits, each titled with its prediction and label."""
        predictions = logits.argmax(axis=1)
        wrong = np.flatnonzero(predictions != dataset.labels)[:MISCLASSIFIED_IMAGES]
        return [("misclassified/test image %05d: predicted %d, labelled %d"
                 % (index, predictions[index], dataset.labels[index]),
                 dataset.images[index].reshape(28, 28)) for index in wrong]


class Reconstruction:
    """What a training run evaluates of an autoencoder: the mean squared error per pixel
    between the images and their reconstructions.

    Args:
      x: the image placeholder.
      reconstruction: the model's output, the images as it reproduces them.
    """
    metric = "reconstruction error"
    outputs = "reconstructions"

    def __init__(self, x, reconstruction):
        self.x, self.reconstruction = x, reconstruction

    def evaluate(self, sess, dataset, batch_size=BATCH_SIZE):
        """(mean squared error per pixel, reconstructions) on every example of `dataset`."""
        reconstructions = run_in_batches(sess, self.reconstruction, self.x, dataset.images,
                                         batch_size)
        return float(np.mean(np.square(reconstructions - dataset.images))), reconstructions

    def variables(self, candidates):
        """Those of `candidates` the reconstructions are computed from."""
        return variables_behind(self.reconstruction, candidates)

    def pictures(self, dataset, outputs):
        return []
