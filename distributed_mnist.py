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
import argparse
import sys

from tfmnist import distributed, flags, lessons, restoring
from tfmnist.command_line import run_main
from tfmnist.tf1 import tf


def build_parser(model=None):
    """The flags of a task: --model and the cluster's, and the chosen lesson's own, with its
    defaults (without --model, --help says how to see them)."""
    if model is None:
        parser = argparse.ArgumentParser(formatter_class=flags.HelpFormatter,
                                         epilog="--model LESSON --help lists the lesson's own "
                                                "flags, with its defaults.")
    else:
        parser = lessons.lesson(model).build_parser()
        parser.epilog = "The model and its flags: %s" % parser.description
    parser.prog = "distributed_mnist.py"
    parser.description = flags.description(__doc__)
    parser.add_argument("--model", choices=sorted(lessons.LESSONS), required=True,
                        help="the lesson whose model is trained")
    distributed.add_flags(parser)
    return parser


def parse_args(argv):
    """(the flags, this task): the lesson's flags and the cluster's, checked as the lesson
    checks its own."""
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = argparse.ArgumentParser(prog="distributed_mnist.py", add_help=False)
    chosen.add_argument("--model", choices=sorted(lessons.LESSONS))  # first, for its flags
    model = chosen.parse_known_args(argv)[0].model
    parser = build_parser(model)
    args = flags.parse_args(parser, argv, adopt=False)
    task = distributed.task_of(args)
    if task.is_chief and args.resume:  # the run is on the chief's machine
        restoring.adopt_run_flags(parser, argv, args, task.replicas)
    if getattr(args, "eager", False):
        parser.error("--eager trains on this machine only: a cluster runs TF1's graphs")
    args.seed = distributed.worker_seed(args.seed, task.index)
    args.script = lessons.LESSONS[args.model]  # the lesson's run directory, runs/cnn_mnist
    return args, task


def main(argv=None):
    """Runs this task of the cluster: a ps serves the variables, a worker trains. Returns
    the metrics (the chief's: test_accuracy, ...) as a dict."""
    args, task = parse_args(argv)
    server = distributed.start_server(task)
    if task.job_name == "ps":  # a parameter server: it holds the variables, no more
        return distributed.serve(server, task)
    distributed.wait_for_ps(task)  # TensorFlow itself would wait for ever for a missing one
    distributed.agree_with_the_chief(server, task, args)  # the same model, trained alike
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
            m = lessons.lesson(args.model).model(args, total_steps, wrap_optimizer)
            batch_accuracy_op = tf.no_op() if m.accuracy is None else m.accuracy  # None: none
            with tf.control_dependencies([m.train_step]):  # the global step, after the step
                global_step_after = tf.train.get_global_step().read_value()
        local_init_op = ready_for_local_init_op = None
        if args.sync_replicas:
            sync_optimizer, = sync_optimizers
            local_init_op = (sync_optimizer.chief_init_op if task.is_chief
                             else sync_optimizer.local_step_init_op)
            ready_for_local_init_op = sync_optimizer.ready_for_local_init_op
            sync_init_op = sync_optimizer.get_init_tokens_op()

        with distributed.WorkerRun(task, args, mnist, m.evaluator, m.learning_rate) as run:
            # TF1's SessionManager, not MonitoredTrainingSession: its recovery makes a new
            # session on every "unavailable" error, for ever (a lost ps would hold every
            # worker for ever, not --task-timeout), a recovered chief session initialises
            # the variables again, and Saver.save takes no MonitoredSession (saving would
            # leave the loop for a hook). docs/distributed.md says more.
            # Made once the run directory has taken this run: TensorFlow logs ten lines for
            # each such op never run, on the way out.
            session_manager = tf.train.SessionManager(
                ready_op=tf.report_uninitialized_variables(), local_init_op=local_init_op,
                ready_for_local_init_op=ready_for_local_init_op,
                recovery_wait_secs=distributed.WAIT_S)
            config = distributed.session_config(flags.session_config(args), task)
            if task.is_chief:  # it initialises the variables, or restores the last checkpoint
                sess = session_manager.prepare_session(
                    server.target, config=config,
                    init_op=None if run.restoring else tf.global_variables_initializer(),
                    init_fn=run.restore if run.restoring else None)
            else:  # the others wait until it has
                sess = distributed.wait_for_session(session_manager, server.target, config,
                                                    task)
            with distributed.closing(sess, run.explain):  # `with sess:`, its close bounded
                if args.sync_replicas and task.is_chief:
                    sess.run(sync_init_op)  # the tokens that let the first steps start
                    sync_optimizer.get_chief_queue_runner().create_threads(
                        sess, coord=run.coordinator, daemon=True, start=True)
                for step in run.steps(sess):  # the global step's, from the restored one
                    batch_xs, batch_ys = mnist.train.next_batch(args.batch_size)
                    # The global step, fetched with the train step; sess.run called again on
                    # TensorFlow's rare "received twice".
                    _, loss_value, batch_accuracy, global_step = distributed.run_again_if_refused(
                        sess.run, [m.train_step, m.loss, batch_accuracy_op, global_step_after],
                        feed_dict=m.feed(batch_xs, batch_ys, step))
                    run.record(loss_value, global_step)  # the next step: after global_step
                    if run.log_due(step):  # every --log-every steps, and the last
                        run.log_progress(step, batch_accuracy)
                    if run.epoch_ended(step):  # the chief validates and saves; the others not
                        run.validate(step)
                        run.save(step)
                metrics = run.finish()
    return metrics


if __name__ == "__main__":
    run_main(main, "distributed_mnist.py")
