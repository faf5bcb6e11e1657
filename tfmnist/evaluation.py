"""Exact evaluation in batches, every example counted once, the last batch partial; and the
Model every lesson's model() returns (autoencoder_mnist.py has an evaluator of its own).

    correct_count, accuracy = evaluation(logits, y_)          # in the graph
    accuracy, logits = Classifier(x, y_, logits, correct_count).evaluate(sess, mnist.test)
"""
import collections

import numpy as np

from tfmnist.tf1 import tf

BATCH_SIZE = 1000  # examples per evaluation batch
MISCLASSIFIED_IMAGES = 12  # misclassified test digits shown in TensorBoard after training

# What a lesson's model(args, total_steps, wrap_optimizer=None) builds: the ops a training
# step runs (accuracy: None for a model without labels), the evaluator of its output, and
# feed(batch_xs, batch_ys, step), a training step's feed_dict.
Model = collections.namedtuple("Model", "train_step loss accuracy learning_rate evaluator feed")


def evaluation(logits, labels):
    """Returns (correct_count, accuracy) of a batch. correct_count is the number of examples
    whose top logit is the label: summed over a set's batches, the set's exact accuracy."""
    correct_count = tf.reduce_sum(tf.cast(tf.nn.in_top_k(logits, labels, 1), tf.int32))
    accuracy = tf.cast(correct_count, tf.float32) / tf.cast(tf.shape(labels)[0], tf.float32)
    return correct_count, accuracy


def in_batches(run_batch, count, batch_size=BATCH_SIZE):
    """[run_batch(start, stop)] over `count` examples in batches, the last one partial."""
    return [run_batch(start, min(start + batch_size, count))
            for start in range(0, count, batch_size)]


class Classifier:
    """What a run evaluates of a classifier: its accuracy, from each batch's correct count
    (x, y_: the placeholders; correct_count: see evaluation()). `evaluated`, the tensor it
    computes: --eval-only restores the variables that tensor is computed from, and no more."""
    metric, outputs = "accuracy", "logits"

    def __init__(self, x, y_, logits, correct_count):
        self.x, self.y_, self.logits, self.correct_count = x, y_, logits, correct_count
        self.evaluated = logits

    def evaluate(self, sess, dataset, batch_size=BATCH_SIZE):
        """(accuracy, logits) on every example of `dataset`."""
        batches = in_batches(lambda start, stop: sess.run(
            [self.correct_count, self.logits], {self.x: dataset.images[start:stop],
                                                self.y_: dataset.labels[start:stop]}),
            dataset.num_examples, batch_size)
        return (sum(count for count, _ in batches) / dataset.num_examples,
                np.concatenate([logits for _, logits in batches]))

    def pictures(self, dataset, logits):
        """[(title, 28x28 image)] to show after training: the first misclassified test
        digits, each titled with its prediction and label."""
        predictions = logits.argmax(axis=1)
        wrong = np.flatnonzero(predictions != dataset.labels)[:MISCLASSIFIED_IMAGES]
        return [("misclassified/test image %05d: predicted %d, labelled %d"
                 % (index, predictions[index], dataset.labels[index]),
                 dataset.images[index].reshape(28, 28)) for index in wrong]
