"""Transfer learning: a CNN's convolutional layers, trained on one task, kept frozen while new
fully connected layers learn another, beside the same network trained from scratch.

The source task is MNIST's digits 0-4. The target task is digits 5-9 (or, with
--target-data-dir, every class of another IDX set, such as Fashion-MNIST), learnt from 100,
1,000 or all of its labelled training images. The frozen layers are restored from the
source run's checkpoint and left out of the optimizer's var_list, so no step changes them.

    python transfer_mnist.py [--labels 100,1000,all] [--target-data-dir DIR]
"""
import argparse
import os
import numpy as np

import cnn_mnist
import input_data
from tfmnist import flags, pictures, restoring, rundirs
from tfmnist.command_line import UsageError, run_main
from tfmnist.evaluation import Classifier, evaluation
from tfmnist.tf1 import tf

SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)  # of MNIST, without --target-data-dir


def label_counts(text):
    """An argparse type: numbers of labelled examples, or `all`, comma-separated."""
    counts = []
    for part in text.split(","):
        if part == "all":
            counts.append(None)
        elif part.isdigit() and int(part) > 0:
            counts.append(int(part))
        else:
            raise argparse.ArgumentTypeError("%r is not a list such as 100,1000,all" % text)
    return counts


def subset(dataset, classes, count=None, seed=0):
    """The examples of `classes` (relabelled 0, 1, ...), the first `count` of a seeded
    shuffle of them (None: all), as a DataSet."""
    index = np.flatnonzero(np.isin(dataset.labels, classes))
    if count is not None:
        index = np.sort(np.random.default_rng(seed).permutation(index)[:count])
    relabel = np.searchsorted(classes, dataset.labels[index])
    return input_data.DataSet(dataset.images[index], relabel, seed=seed)


def train(data, test, steps, args, frozen_from=None, num_classes=len(TARGET_CLASSES),
          save_to=None):
    """Trains the CNN on `data` for `steps` steps of Adam; returns the test accuracy.

    frozen_from: a checkpoint whose convolutional layers are restored and kept as they are,
    only the new fully connected layers training. save_to: a checkpoint path to write.
    """
    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        x = tf.placeholder(tf.float32, [None, 784], name="x")
        y_ = tf.placeholder(tf.int64, [None], name="y_")
        keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
        logits = cnn_mnist.inference(x, keep_prob, num_classes)
        loss = cnn_mnist.loss(logits, y_)
        # What transfers: the variables under conv1/ and conv2/.
        conv_variables = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="conv")
        frozen = {v.op.name for v in conv_variables} if frozen_from else set()
        trained = [v for v in tf.trainable_variables() if v.op.name not in frozen]
        train_step = tf.train.AdamOptimizer(args.learning_rate).minimize(loss, var_list=trained)
        correct_count, _ = evaluation(logits, y_)
        with tf.Session(config=flags.session_config(args)) as sess:
            sess.run(tf.global_variables_initializer())
            if frozen_from is not None:
                restoring.restore(sess, tf.train.Saver(conv_variables), frozen_from,
                                    conv_variables)
            for _ in range(steps):
                batch_xs, batch_ys = data.next_batch(min(args.batch_size, data.num_examples))
                sess.run(train_step, {x: batch_xs, y_: batch_ys, keep_prob: 0.5})
            accuracy, _ = Classifier(x, y_, logits, correct_count).evaluate(sess, test)
            if save_to:
                tf.train.Saver().save(sess, save_to, write_meta_graph=False)
            return accuracy, dict(zip([v.op.name for v in conv_variables],
                                      sess.run(conv_variables)))


def build_parser():
    parser = argparse.ArgumentParser(prog="transfer_mnist.py",
                                     description=flags.description(__doc__),
                                     formatter_class=flags.HelpFormatter)
    parser.add_argument("--labels", type=label_counts, default=[100, 1000, None],
                        help="labelled target examples to learn from, each a run")
    parser.add_argument("--source-steps", type=flags.positive_int, default=1000,
                        help="steps training the whole CNN on the source task, digits 0-4")
    parser.add_argument("--steps", type=flags.positive_int, default=500,
                        help="steps of each target run, transferred or from scratch")
    parser.add_argument("--batch-size", type=flags.positive_int, default=50)
    parser.add_argument("--learning-rate", type=flags.positive_float, default=1e-3)
    parser.add_argument("--seed", type=flags.seed_int, default=0)
    parser.add_argument("--threads", type=flags.thread_count, default=0)
    parser.add_argument("--data-dir", default=input_data.DEFAULT_DATA_DIR,
                        help="MNIST, for the source task (and the target, without the next)")
    parser.add_argument("--target-data-dir", default=None,
                        help="another IDX set whose every class is the target task")
    parser.add_argument("--run-dir", default=None,
                        help="for the source checkpoint, the table and the picture (default: "
                             "the next number in runs/transfer_mnist/)")
    return parser


def transfer(args, source_train, source_test, target_train, target_test, classes, run_dir):
    """Trains the source CNN, then each target run from scratch and transferred; writes the
    picture. Returns (rows [(labels, from scratch, transferred)], the picture's path)."""
    source = os.path.join(run_dir, "source.ckpt")
    accuracy, _ = train(source_train, source_test, args.source_steps, args,
                        num_classes=len(SOURCE_CLASSES), save_to=source)
    print("source task, digits 0-4: test accuracy %.4f (checkpoint %s)" % (accuracy, source))
    rows = []
    for count in args.labels:
        data = subset(target_train, classes, count, args.seed)
        scratch, _ = train(data, target_test, args.steps, args, num_classes=len(classes))
        data = subset(target_train, classes, count, args.seed)  # the same batches again
        transferred, _ = train(data, target_test, args.steps, args, frozen_from=run_dir,
                               num_classes=len(classes))
        rows.append((data.num_examples, scratch, transferred))
        print("%6d labels: from scratch %.4f, transferred %.4f" % rows[-1], flush=True)
    task = ("classes of %s" % args.target_data_dir if args.target_data_dir
            else "digits 5-9")
    picture = os.path.join(run_dir, "transfer.png")
    rundirs.write_atomically(picture, pictures.curves(
        {"from scratch": ([r[0] for r in rows], [r[1] for r in rows]),
         "conv layers from digits 0-4, frozen": ([r[0] for r in rows], [r[2] for r in rows])},
        "test accuracy on %s against the labels learnt from" % task, "labelled examples",
        "test accuracy", log_x=True, markers=True))
    print("picture: %s" % picture)
    return rows, picture


def main(argv=None):
    """Returns {"rows": [(labels, from scratch, transferred)], "run_dir", "picture"}."""
    args = build_parser().parse_args(argv)
    mnist = input_data.read_data_sets(args.data_dir, validation_size=0, seed=args.seed)
    if args.target_data_dir:
        # Not filled from the bundled MNIST where files are missing: that is another task.
        target = input_data.read_data_sets(args.target_data_dir, validation_size=0,
                                           seed=args.seed, download=False)
        classes = tuple(range(int(target.train.labels.max()) + 1))
        target_train, target_test = target.train, target.test
    else:
        classes, target_train, target_test = TARGET_CLASSES, mnist.train, mnist.test
    source_train = subset(mnist.train, SOURCE_CLASSES, seed=args.seed)
    source_test, target_test = subset(mnist.test, SOURCE_CLASSES), subset(target_test, classes)
    # Checked before anything trains, not after the source CNN has.
    target_classes = ", ".join(map(str, classes))
    for dataset, what in ((source_train, "training images of digits 0-4 in %s" % args.data_dir),
                          (source_test, "test images of digits 0-4 in %s" % args.data_dir),
                          (subset(target_train, classes),
                           "training images of the target classes %s" % target_classes),
                          (target_test, "test images of the target classes %s" % target_classes)):
        if dataset.num_examples == 0:
            raise UsageError("there are no %s: the transfer needs them" % what)
    # A new or empty directory, locked, as every training script asks: never another run's.
    created = args.run_dir is None
    run_dir = args.run_dir or rundirs.new_numbered(rundirs.script_runs("transfer_mnist.py"))
    lock = rundirs.claim(run_dir, fresh=True, created=created)
    try:
        rows, picture = transfer(args, source_train, source_test, target_train, target_test,
                                 classes, run_dir)
    except BaseException:
        rundirs.remove_unsaved_run(run_dir, lock, everything=True)
        raise
    lock.close()
    return {"rows": rows, "run_dir": run_dir, "picture": picture}


if __name__ == "__main__":
    run_main(main, "transfer_mnist.py", trains=False)
