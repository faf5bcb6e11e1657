"""Trains a lesson's model across machines: between-graph replication on TensorFlow's
distributed runtime, as TF1's mnist_replica.py.

Every task runs this program. The ps tasks hold the variables and train nothing. Each worker
builds the lesson's graph with its variables placed on the ps tasks
(tf.train.replica_device_setter), draws its own batches and updates the shared variables.
Worker 0, the chief, initialises or restores them, saves the checkpoints, writes the logs
and evaluates; the other workers wait for its variables (tf.train.SessionManager), then
train. Asynchronous by default: each worker's step updates the variables as it comes. With
--sync-replicas, a SyncReplicasOptimizer averages one gradient from each worker into every
step. The chief writes the lesson's run directory (runs/cnn_mnist/N), which --resume,
--eval-only, classify.py and draw.py read like any other.

    python distributed_mnist.py --model cnn --ps-hosts 10.0.0.1:2222 \\
        --worker-hosts 10.0.0.2:2222,10.0.0.3:2222 --job-name worker --task-index 0 \\
        --trusted-network [--sync-replicas] [the lesson's flags, such as --epochs 2]

or with the cluster in TF_CONFIG; `python cluster.py cnn` starts a cluster on this machine.
"""
import sys

import numpy as np

import autoencoder_mnist
import cnn_mnist
import mlp_mnist
import rnn_mnist
import softmax_mnist
from tfmnist import distributed, flags
from tfmnist.augment import shifted, turned
from tfmnist.command_line import run_main
from tfmnist.evaluation import Classifier, Reconstruction, evaluation
from tfmnist.tf1 import tf

LESSONS = {"softmax": softmax_mnist, "mlp": mlp_mnist, "cnn": cnn_mnist, "rnn": rnn_mnist,
           "autoencoder": autoencoder_mnist}  # --model: the lesson it takes the model from


def build_parser(model):
    """The lesson's parser, with --model and the cluster's flags."""
    parser = LESSONS[model].build_parser()
    parser.prog = "distributed_mnist.py"
    parser.description = "%s, across machines" % parser.description
    parser.add_argument("--model", choices=sorted(LESSONS), required=True,
                        help="the lesson whose model is trained")
    distributed.add_flags(parser)
    return parser


def model_graph(args, total_steps, wrap_optimizer):
    """The lesson's model, loss and training step, and the placeholders a step feeds.
    Returns (train_step, loss_op, accuracy, evaluator, learning_rate, feed), where
    feed(batch_xs, batch_ys, step) is a training step's feed_dict."""
    lesson = LESSONS[args.model]
    x = tf.placeholder(tf.float32, [None, 28 * 28], name="x")
    if args.model == "autoencoder":
        _, reconstruction = lesson.inference(x, args.code_size)
        loss_op = lesson.loss(reconstruction, x)
        train_step, learning_rate = lesson.training(loss_op, args.learning_rate, total_steps,
                                                    wrap_optimizer)
        no_accuracy = tf.no_op()  # an autoencoder has none: sess.run gives None for it
        return (train_step, loss_op, no_accuracy, Reconstruction(x, reconstruction),
                learning_rate, lambda batch_xs, batch_ys, step: {x: batch_xs})
    y_ = tf.placeholder(tf.int64, [None], name="y_")
    keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
    extra_feed = {}  # what a training step feeds besides the batch
    if args.model == "mlp":
        is_training = tf.placeholder_with_default(False, [], name="is_training")
        layers = lesson.parameters(args.hidden, args.init_stddev, args.batch_norm)
        logits, _ = lesson.forward(layers, x, keep_prob, is_training, args.activation)
        loss_op = lesson.loss(logits, y_, args.loss)
        global_step = tf.train.get_or_create_global_step()
        optimizer, learning_rate = lesson.optimizer_of(args.loss, args.learning_rate,
                                                       global_step, total_steps)
        train_step = wrap_optimizer(optimizer).minimize(loss_op, global_step=global_step)
        extra_feed = {keep_prob: args.keep_prob, is_training: True}
    elif args.model == "cnn":
        logits = lesson.inference(x, keep_prob)
        loss_op = lesson.loss(logits, y_)
        train_step, learning_rate = lesson.training(loss_op, args.learning_rate, total_steps,
                                                    wrap_optimizer)
        extra_feed = {keep_prob: args.keep_prob}
    elif args.model == "rnn":
        logits = lesson.inference(x, chains=lesson.chains_for(args.batch_size))
        loss_op = lesson.loss(logits, y_)
        train_step, learning_rate = lesson.training(loss_op, args.learning_rate, total_steps,
                                                    args.clip_norm, wrap_optimizer)
    else:
        logits = lesson.inference(x)
        loss_op = lesson.loss(logits, y_)
        train_step, learning_rate = lesson.training(loss_op, args.learning_rate, total_steps,
                                                    wrap_optimizer)
    correct_count, accuracy = evaluation(logits, y_)

    def feed(batch_xs, batch_ys, step):
        rng = np.random.default_rng([args.seed, step])
        if args.model == "cnn":  # turned and shifted as their lessons turn and shift them
            batch_xs = turned(batch_xs, args.max_turn, rng)
        if args.model in ("cnn", "rnn"):
            batch_xs = shifted(batch_xs, args.max_shift, rng)
        return {x: batch_xs, y_: batch_ys, **extra_feed}
    return (train_step, loss_op, accuracy, Classifier(x, y_, logits, correct_count),
            learning_rate, feed)


def parse_args(argv):
    """(the flags, this task): the lesson's flags and the cluster's, checked as the lesson
    checks its own."""
    argv = sys.argv[1:] if argv is None else list(argv)
    model = next((argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--model"),
                 next((arg.split("=", 1)[1] for arg in argv if arg.startswith("--model=")),
                      None))
    parser = build_parser(model if model in LESSONS else "softmax")
    args = flags.parse_args(parser, argv, adopt=False)  # refuses an unknown --model
    task = distributed.task_of(args)
    if task.is_chief and args.resume:
        flags.adopt_run_flags(parser, argv, args)  # the run is on the chief's machine
    if args.model == "mlp":
        if args.eager:
            parser.error("--eager trains on this machine only: a cluster runs TF1's graphs")
        if args.learning_rate is None:
            args.learning_rate = mlp_mnist.DEFAULT_LEARNING_RATES[args.loss]
    args.seed = distributed.worker_seed(args.seed, task.index)
    args.script = LESSONS[args.model].__name__  # the lesson's run directory, runs/cnn_mnist
    return args, task


def main(argv=None):
    """Runs this task of the cluster: a ps serves the variables, a worker trains. Returns
    the metrics (the chief's: test_accuracy, ...) as a dict."""
    args, task = parse_args(argv)
    server = distributed.start_server(task)
    if task.job_name == "ps":  # a parameter server: it holds the variables, no more
        return distributed.serve(server, task)
    distributed.wait_for_ps(task)  # TensorFlow itself would wait for ever for a missing one
    mnist = flags.load_data(args, task.replicas)
    total_steps = flags.total_steps(args, mnist, task.replicas)

    with tf.Graph().as_default():
        tf.set_random_seed(args.seed)
        sync_optimizers = []

        def wrap_optimizer(optimizer):
            if not args.sync_replicas:
                return optimizer
            # Each step waits for one gradient from every worker, and applies their mean.
            sync_optimizers.append(tf.train.SyncReplicasOptimizer(
                optimizer, replicas_to_aggregate=task.workers, total_num_replicas=task.workers))
            return sync_optimizers[-1]

        # The variables on the ps tasks (round-robin), the other ops on this worker.
        with tf.device(tf.train.replica_device_setter(
                worker_device="/job:worker/task:%d" % task.index, cluster=task.cluster)):
            train_step, loss_op, accuracy, evaluator, learning_rate, feed = model_graph(
                args, total_steps, wrap_optimizer)
        init_op = tf.global_variables_initializer()
        local_init_op = ready_for_local_init_op = None
        if args.sync_replicas:
            sync_optimizer, = sync_optimizers
            local_init_op = (sync_optimizer.chief_init_op if task.is_chief
                             else sync_optimizer.local_step_init_op)
            ready_for_local_init_op = sync_optimizer.ready_for_local_init_op
            sync_init_op = sync_optimizer.get_init_tokens_op()
        session_manager = tf.train.SessionManager(
            ready_op=tf.report_uninitialized_variables(), local_init_op=local_init_op,
            ready_for_local_init_op=ready_for_local_init_op,
            recovery_wait_secs=distributed.WAIT_S)
        config = distributed.session_config(flags.session_config(args), task)

        with distributed.WorkerRun(task, args, mnist, evaluator, learning_rate) as run:
            if task.is_chief:  # it initialises the variables, or restores the last checkpoint
                sess = session_manager.prepare_session(
                    server.target, init_op=None if run.restoring else init_op,
                    init_fn=run.restore if run.restoring else None, config=config)
            else:  # the others wait until it has
                sess = distributed.wait_for_session(session_manager, server.target, config,
                                                    task)
            with sess:
                if args.sync_replicas and task.is_chief:
                    sess.run(sync_init_op)  # the tokens that let the first steps start
                    sync_optimizer.get_chief_queue_runner().create_threads(
                        sess, coord=run.coordinator, daemon=True, start=True)
                for step in run.steps(sess):  # the global step's, from the restored one
                    batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                    # (sess.run, called again on TensorFlow's rare "received twice".)
                    _, loss_value, batch_accuracy = distributed.run_again_if_refused(
                        sess.run, [train_step, loss_op, accuracy],
                        feed_dict=feed(batch_xs, batch_ys, step))
                    run.record(loss_value)
                    if run.log_due(step):  # every --log-every steps, and the last
                        run.log_progress(step, batch_accuracy)
                    if run.epoch_ended(step):  # the chief validates and saves; the others not
                        run.validate(step)
                        run.save(step)
                metrics = run.finish()
    return metrics


if __name__ == "__main__":
    run_main(main, sys.argv[0])
