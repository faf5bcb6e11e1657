"""One task of a cluster: between-graph replication on TensorFlow's own distributed runtime,
as in TF1's "Distributed TensorFlow" guide.

Each task runs the same script. The ps tasks hold the variables and train nothing; each
worker builds the whole graph with its variables placed on the ps tasks
(tf.train.replica_device_setter), draws its own batches and updates the shared variables.
Worker 0, the chief, initialises or restores them, saves the checkpoints, writes the logs
and evaluates; the other workers wait for its variables, then train. Asynchronous by
default: each worker's step updates the variables as it comes. With --sync-replicas, a
SyncReplicasOptimizer averages one gradient from each worker into every step.

The cluster comes from the flags (--ps-hosts, --worker-hosts, --job-name, --task-index) or
from the TF_CONFIG environment variable, as Kubernetes operators set it:

    {"cluster": {"ps": ["10.0.0.1:2222"], "worker": ["10.0.0.2:2222", "10.0.0.3:2222"]},
     "task": {"type": "worker", "index": 0}}

A task alone, with neither, is ALONE: the scripts train on this machine as always.

TensorFlow's gRPC server has no authentication and listens on every interface, whatever host
the cluster names: anyone who reaches its port can run any operation in it. A cluster of
hosts other than this machine's loopback needs --trusted-network, to say the network is
private.
"""
import contextlib
import json
import signal
import socket
import threading
import time

from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf

JOBS = ("ps", "worker")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
POLL_S = 0.25  # how often a task looks again for a task or variables it waits for
RETRIES = 3  # times a step the runtime refused as a duplicate request is run again


class Task:
    """This process's part of a cluster, or ALONE.

    Args:
      cluster: {"ps": [host:port, ...], "worker": [...]}, or None: no cluster.
      job_name, index: this task's job ("ps" or "worker") and number in it.
      sync: --sync-replicas.
      timeout: seconds a task waits for another (to answer, to initialise, to send its
        gradient) before it gives up with an error that says which.
    """

    def __init__(self, cluster=None, job_name="worker", index=0, sync=False, timeout=60.0):
        self.cluster, self.job_name, self.index = cluster, job_name, index
        self.sync, self.timeout = sync and cluster is not None, timeout
        self._server = self._sync_optimizer = self._sync_hook = self._coordinator = None
        self._workers_seen, self._next_check = set(), 0.0  # for check_workers()

    # What the task is.
    @property
    def alone(self):
        return self.cluster is None

    @property
    def is_ps(self):
        return self.job_name == "ps" and not self.alone

    @property
    def is_chief(self):
        """Alone, or worker 0 of a cluster: the task that initialises, saves and evaluates."""
        return self.alone or (self.job_name == "worker" and self.index == 0)

    @property
    def workers(self):
        return 1 if self.alone else len(self.cluster["worker"])

    @property
    def replicas(self):
        """The workers whose gradients make one step: all of them with --sync-replicas."""
        return self.workers if self.sync else 1

    @property
    def name(self):
        return "%s %d" % (self.job_name, self.index)

    def address(self, job_name=None, index=None):
        job_name = self.job_name if job_name is None else job_name
        return self.cluster[job_name][self.index if index is None else index]

    # The graph.
    def device_setter(self):
        """For tf.device(): a cluster's variables on its ps tasks (round-robin), the other
        ops on this worker; None alone (no placement)."""
        if self.alone:
            return None
        return tf.train.replica_device_setter(
            worker_device="/job:worker/task:%d" % self.index, cluster=self.cluster)

    def optimizer(self, optimizer):
        """The optimizer to train with: with --sync-replicas, `optimizer` wrapped in a
        SyncReplicasOptimizer that applies the mean of one gradient from each worker."""
        if not self.sync:
            return optimizer
        self._sync_optimizer = tf.train.SyncReplicasOptimizer(
            optimizer, replicas_to_aggregate=self.workers, total_num_replicas=self.workers)
        return self._sync_optimizer

    def prepare(self):
        """Makes the ops the task needs around training; called once the graph is built."""
        if self.sync:
            self._sync_hook = self._sync_optimizer.make_session_run_hook(self.is_chief)
            self._sync_hook.begin()
            # TensorFlow warns of an unused tensor when a run ends before it is run.
            self._sync_optimizer.ready_for_local_init_op.mark_used()
        if not self.alone:
            if not self.is_chief:  # it waits for the chief's variables (start())
                self._ready = tf.report_uninitialized_variables(tf.global_variables())
                self._ready.mark_used()  # a run may end before it asks
            self._done = [_done_queue(index, self.workers).enqueue(self.index)
                          for index in range(len(self.cluster["ps"]))]

    # The session.
    @property
    def target(self):
        """The session's target: "" (in-process) alone, this task's server in a cluster."""
        return "" if self.alone else self.server().target

    def session_config(self, config):
        """config, with what a cluster's worker needs: it talks to the ps tasks and to
        itself only (device_filters), and no operation waits longer than the timeout."""
        if not self.alone:
            config.device_filters.extend(["/job:ps", "/job:worker/task:%d" % self.index])
            config.operation_timeout_in_ms = int(self.timeout * 1000)
        return config

    def server(self):
        """This task's gRPC server, started at the first call."""
        if self._server is None:
            try:
                self._server = tf.train.Server(
                    tf.train.ClusterSpec(self.cluster), job_name=self.job_name,
                    task_index=self.index, start=True)
            except (tf.errors.OpError, ValueError) as e:
                raise UsageError("%s cannot listen on %s: %s" % (
                    self.name, self.address(), error_reason(e)))
        return self._server

    def wait_for_cluster(self):
        if not self.alone:
            wait_for_ps(self)

    @contextlib.contextmanager
    def explaining(self):
        """Turns what a lost task makes TensorFlow raise into a one-line UsageError, also
        where the project has already worded it (a checkpoint that cannot be saved)."""
        try:
            yield
        except UsageError as e:
            if self.alone or not isinstance(e.__context__, tf.errors.OpError):
                raise
            raise explain(self, e.__context__) from None

    def retrying(self, run):
        """A session's run(), called again when TensorFlow's gRPC runtime refuses a request
        it has "received twice": now and then it resends one that had arrived, and the step
        then ends in an AbortedError (as TF1's MonitoredSession does, the call is repeated)."""
        def run_again_if_refused(*args, **kwargs):
            for attempt in range(RETRIES + 1):
                try:
                    return run(*args, **kwargs)
                except tf.errors.AbortedError as e:
                    if "received twice" not in str(e) or attempt == RETRIES:
                        raise
        return run_again_if_refused

    def training_ended(self, sess, global_step, trained, seconds, images_per_s):
        """Says what this worker trained; returns the cluster's global step."""
        print("%s trained %d steps in %.1f s (%.0f images/s)" % (
            self.name, trained, seconds, images_per_s or 0), flush=True)
        return int(self.run(sess, global_step))

    def explain(self, error):
        return explain(self, error)

    def serve(self):
        """A ps task's whole life (see serve()): the scripts' `args.task.serve()`."""
        return serve(self)

    def next_step(self, sess, step, global_step):
        """The step after `step`: alone, the next; in a cluster, the one after the global
        step, whichever worker trained those in between."""
        return step + 1 if self.alone else int(self.run(sess, global_step)) + 1

    def check_workers(self):
        """With --sync-replicas, a worker that has stopped (its port closed) is an error at
        once: TensorFlow's SyncReplicasOptimizer would wait for its gradient until the
        timeout, or, holding a token it left, let the others step without it. Looks once a
        second."""
        if not self.sync or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + 1.0
        stopped = self.stopped_workers()
        self._workers_seen.update(set(range(self.workers)) - set(stopped) - {self.index})
        for index in stopped:
            if index in self._workers_seen:
                raise self.stopped_error(index)

    def stopped_workers(self):
        """The other workers whose ports no longer answer."""
        return [index for index, address in enumerate(self.cluster["worker"])
                if index != self.index and _unreachable(address) is not None]

    def stopped_error(self, index):
        return UsageError("%s: worker %d at %s has stopped; with --sync-replicas every step "
                          "needs all %d workers" % (self.name, index,
                                                    self.address("worker", index), self.workers))

    def start(self, sess):
        """Called as training starts. The chief has initialised or restored the variables;
        the other workers wait for them here. Then the sync replicas' tokens and queue are
        set up."""
        if self.alone:
            return
        if not self.is_chief:
            deadline = time.monotonic() + self.timeout
            while len(self.run(sess, self._ready)):
                if time.monotonic() > deadline:
                    raise UsageError("%s: the chief (worker 0 at %s) did not initialise the "
                                     "variables within %g s" % (
                                         self.name, self.address("worker", 0), self.timeout))
                time.sleep(POLL_S)
        if self._sync_hook is not None:
            self._coordinator = tf.train.Coordinator()
            self._sync_hook.after_create_session(sess, self._coordinator)

    def run(self, sess, fetches):
        try:
            return sess.run(fetches)
        except tf.errors.OpError as e:
            raise self.explain(e)

    def finish(self, sess):
        """Tells each ps task that this worker is done: a ps ends when all have said so."""
        if not self.alone:
            self.run(sess, self._done)

    def close(self):
        if self._coordinator is not None:
            self._coordinator.request_stop()  # the sync queue's thread ends with the session
            self._coordinator = None

ALONE = Task()


def wait_for_ps(task):
    """Waits until every ps task answers on its port; a UsageError after the timeout.

    TensorFlow itself would wait without end for a task that never comes."""
    task.server()
    deadline = time.monotonic() + task.timeout
    for index, address in enumerate(task.cluster["ps"]):
        while True:
            reason = _unreachable(address)
            if reason is None:
                break
            if time.monotonic() > deadline:
                raise UsageError("%s: ps %d at %s did not answer within %g s (%s): start "
                                 "it, or check the cluster (--ps-hosts or TF_CONFIG)"
                                 % (task.name, index, address, task.timeout, reason))
            time.sleep(POLL_S)


def explain(task, error):
    """A UsageError saying in one line what a TensorFlow error means in this cluster."""
    reason = error_reason(error)
    culprit = _task_in(task, str(error))
    # The sync queue's thread times out too, and closes the queue the loop's step waits on:
    # the step then ends in whichever error comes first.
    sync_stopped = (task.sync and task._coordinator is not None
                    and task._coordinator.should_stop())
    if isinstance(error, tf.errors.DeadlineExceededError) or sync_stopped:
        stopped = task.stopped_workers() if task.sync else []
        if stopped:
            return task.stopped_error(stopped[0])
        return UsageError(
            "%s waited more than %g s (--task-timeout) for the cluster%s" % (
                task.name, task.timeout,
                "; with --sync-replicas every step waits for all %d workers, and one of "
                "them has stopped" % task.workers if task.sync else ": " + reason))
    if isinstance(error, (tf.errors.UnavailableError, tf.errors.AbortedError,
                          tf.errors.CancelledError)):
        if culprit is None:  # a worker talks to the ps tasks only (device_filters)
            culprit = ("ps 0 (%s)" % task.cluster["ps"][0] if len(task.cluster["ps"]) == 1
                       else "a ps task")
        return UsageError("%s lost %s: %s; restart the cluster, and the chief with "
                          "--resume to continue from the last checkpoint"
                          % (task.name, culprit, reason))
    return UsageError("%s: %s" % (task.name, reason))

def _task_in(task, message):
    """The task a TensorFlow error message names ("/job:ps/replica:0/task:0", or its
    address), as "ps 0 (host:port)"."""
    for job_name in JOBS:
        for index, address in enumerate(task.cluster[job_name]):
            if ("/job:%s/replica:0/task:%d" % (job_name, index) in message
                    or address in message):
                return "%s %d (%s)" % (job_name, index, address)
    return None


def serve(task):
    """A ps task's whole life: serves the variables until every worker has said it is
    done (finish()), then returns {}. TensorFlow's own server.join() never returns."""
    server = task.server()
    with tf.Graph().as_default():
        done = _done_queue(task.index, task.workers)
        dequeue = done.dequeue()
        config = tf.ConfigProto(device_filters=["/job:ps/task:%d" % task.index])
        with tf.Session(server.target, config=config) as sess, _signals_as_flag() as stop:
            print("%s serving at %s for %d workers" % (
                task.name, task.address(), task.workers), flush=True)
            for _ in range(task.workers):
                worker = None
                while worker is None:
                    if stop:  # Ctrl-C or SIGTERM, seen between waits
                        raise KeyboardInterrupt
                    try:  # a second at a time, to see them
                        worker = sess.run(dequeue, options=tf.RunOptions(timeout_in_ms=1000))
                    except tf.errors.DeadlineExceededError:
                        pass
                print("%s: worker %d is done" % (task.name, worker), flush=True)
    return {}


def cluster_figures(task, steps, batch_size, seconds):
    """Prints and returns the whole cluster's speed, from the chief's clock: the steps all
    workers trained."""
    images_per_s = steps * batch_size * task.replicas / max(seconds, 1e-9)
    print("the cluster: %d workers, %s, %.0f images/s" % (
        task.workers, "synchronous" if task.sync else "asynchronous", images_per_s), flush=True)
    return {"cluster_images_per_s": images_per_s, "cluster": task.cluster,
            "sync_replicas": task.sync}


@contextlib.contextmanager
def _signals_as_flag():
    """A list that Ctrl-C and SIGTERM append to, instead of raising in the middle of a
    TensorFlow call (which would garble the error)."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _done_queue(ps_index, workers):
    """The queue on ps task ps_index in which each worker leaves its number when done."""
    with tf.device("/job:ps/task:%d" % ps_index):
        return tf.FIFOQueue(workers, tf.int32, shared_name="workers_done_%d" % ps_index)


def _unreachable(address):
    """None if something listens at host:port, else why not."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=POLL_S * 4):
            return None
    except OSError as e:
        return e.strerror or str(e)


def task_of(args, environ):
    """The Task the flags or TF_CONFIG ask for (ALONE when neither names a cluster).

    Raises UsageError, in one line, for a cluster that cannot be: an unknown job, an index
    out of range, TF_CONFIG that is not JSON, a host without a port, both sources at once.
    """
    flag_names = ("ps_hosts", "worker_hosts", "job_name", "task_index")
    given = [name for name in flag_names if getattr(args, name) is not None]
    config_text = environ.get("TF_CONFIG", "").strip()
    if given and config_text:
        raise UsageError("both TF_CONFIG and --%s name a cluster: use one"
                         % given[0].replace("_", "-"))
    if given:
        missing = [name for name in ("worker_hosts", "job_name") if getattr(args, name) is None]
        if missing:
            raise UsageError("a cluster from flags needs --worker-hosts and --job-name "
                             "(--%s is missing)" % missing[0].replace("_", "-"))
        cluster = {"ps": _hosts(args.ps_hosts or "", "--ps-hosts"),
                   "worker": _hosts(args.worker_hosts, "--worker-hosts")}
        job_name, index, source = args.job_name, args.task_index or 0, "--job-name"
    elif config_text:
        cluster, job_name, index = _parse_tf_config(config_text)
        source = "TF_CONFIG's task type"
    else:
        if args.sync_replicas:
            raise UsageError("--sync-replicas needs a cluster: --worker-hosts and --job-name, "
                             "or TF_CONFIG")
        return ALONE
    if job_name not in JOBS:
        raise UsageError("%s %r is not a job of this cluster: ps or worker (worker 0 is the "
                         "chief)" % (source, job_name))
    if not cluster["worker"]:
        raise UsageError("the cluster has no worker")
    if not cluster["ps"]:
        raise UsageError("the cluster has no ps task: the variables live on the ps tasks")
    if not 0 <= index < len(cluster[job_name]):
        raise UsageError("task index %d is out of range: the cluster has %d %s task%s (0 to "
                         "%d)" % (index, len(cluster[job_name]), job_name,
                                  "s" if len(cluster[job_name]) > 1 else "",
                                  len(cluster[job_name]) - 1))
    addresses = cluster["ps"] + cluster["worker"]
    if len(set(addresses)) < len(addresses):
        raise UsageError("the cluster names one address twice: each task needs its own port")
    foreign = [address for address in addresses
               if address.rsplit(":", 1)[0].strip("[]") not in LOOPBACK]
    if foreign and not args.trusted_network:
        raise UsageError(
            "the cluster names %s, not this machine: TensorFlow's servers have no "
            "authentication and listen on every interface, so anyone who reaches a port can "
            "run code in it; add --trusted-network if the network is private" % foreign[0])
    if args.eval_only:
        raise UsageError("--eval-only reads a checkpoint on this machine: run it without a "
                         "cluster")
    return Task(cluster, job_name, index, args.sync_replicas, args.task_timeout)


def _hosts(text, source):
    """"host:port,host:port" -> [host:port, ...], each checked."""
    hosts = [part.strip() for part in text.split(",") if part.strip()]
    for host in hosts:
        _check_address(host, source)
    return hosts


def _check_address(address, source):
    if not isinstance(address, str):
        raise UsageError("%s: %r is not an address host:port" % (source, address))
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError("%s: %r is not host:port (a port from 1 to 65535 is needed)"
                         % (source, address))


def _parse_tf_config(text):
    """TF_CONFIG's JSON -> (cluster, job name, index)."""
    try:
        config = json.loads(text)
    except ValueError as e:
        raise UsageError("TF_CONFIG is not JSON: %s" % e)
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise UsageError('TF_CONFIG has no "cluster": {"ps": [...], "worker": [...]}')
    unknown = sorted(set(config["cluster"]) - set(JOBS))
    if unknown:
        raise UsageError("TF_CONFIG's cluster has a job %r: this project's clusters have ps "
                         "and worker jobs (worker 0 is the chief)" % unknown[0])
    cluster = {}
    for job_name in JOBS:
        hosts = config["cluster"].get(job_name, [])
        if not isinstance(hosts, list):
            raise UsageError("TF_CONFIG's cluster %r is not a list of host:port" % job_name)
        for address in hosts:
            _check_address(address, "TF_CONFIG's %s job" % job_name)
        cluster[job_name] = hosts
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task:
        raise UsageError('TF_CONFIG has no "task": {"type": "worker", "index": 0}')
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int):
        raise UsageError("TF_CONFIG's task index %r is not a whole number" % (index,))
    return cluster, task["type"], index
