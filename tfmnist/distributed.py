"""One task of a cluster, for distributed_mnist.py: which task it is, its flags and checks, a
ps task's life, and the run of a worker (WorkerRun, the Run of one machine as a worker sees
it). The graph and the session are the program's own, in TF1's distributed idiom.

The cluster comes from the flags (--ps-hosts, --worker-hosts, --job-name, --task-index) or
from the TF_CONFIG environment variable, as Kubernetes operators set it, read by TensorFlow's
TFConfigClusterResolver:

    {"cluster": {"ps": ["10.0.0.1:2222"], "worker": ["10.0.0.2:2222", "10.0.0.3:2222"]},
     "task": {"type": "worker", "index": 0}}

TensorFlow's gRPC server has no authentication and listens on every interface, whatever host
the cluster names: anyone who reaches its port can run any operation in it. A cluster of
hosts other than this machine's loopback needs --trusted-network, to say the network is
private.

What TensorFlow lacks, written here: a wait for the ps tasks that ends (TensorFlow waits for
ever for a task that never comes), a ps task that ends when its workers are done
(server.join() never returns), a stopped worker named at once in synchronous training, and
each fault in one line that names the task.
"""
import collections
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time

import numpy as np

from tfmnist import command_line, flags, training
from tfmnist.command_line import UsageError
from tfmnist.tf1 import error_reason, tf

JOBS = ("ps", "worker")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
POLL_S = 0.25  # how often a task looks again for a task it waits for
# SessionManager's wait between looks at the chief's variables: 30 s by default, which
# would keep a worker idle for half a minute after the chief is ready.
WAIT_S = 0.5
RETRIES = 3  # times a step the runtime refused as a duplicate request is run again


CLOSE_S = 5  # the wait for a failed run's session to close (TensorFlow's own: 30 s)


def add_flags(parser):
    """The flags that name a cluster and this task's part in it."""
    cluster = parser.add_argument_group(
        "a cluster", "this task's part in a cluster, on TensorFlow's distributed runtime "
        "(or name the cluster in TF_CONFIG; cluster.py starts one on this machine)")
    cluster.add_argument("--ps-hosts", metavar="HOST:PORT,...",
                         help="the parameter servers, which hold the variables")
    cluster.add_argument("--worker-hosts", metavar="HOST:PORT,...",
                         help="the workers, which train; the first is the chief")
    cluster.add_argument("--job-name", help="this task's job: ps or worker")
    cluster.add_argument("--task-index", type=flags.non_negative_int, default=None,
                         help="this task's number in its job (default 0)")
    cluster.add_argument("--sync-replicas", action="store_true",
                         help="each step averages one gradient from every worker (default: "
                              "each worker updates the variables as it goes)")
    cluster.add_argument("--task-timeout", type=flags.positive_float, default=60.0,
                         help="seconds a task waits for another before giving up")
    cluster.add_argument("--trusted-network", action="store_true",
                         help="allow hosts other than this machine: TensorFlow's servers "
                              "have no authentication, so only on a private network")


class Task(collections.namedtuple("Task", "cluster job_name index sync timeout")):
    """This process's part of a cluster: cluster {"ps": [host:port, ...], "worker": [...]},
    its job ("ps" or "worker") and number in it, --sync-replicas, --task-timeout."""

    @property
    def is_chief(self):
        """Worker 0: the task that initialises, saves and evaluates."""
        return self.job_name == "worker" and self.index == 0

    @property
    def workers(self):
        return len(self.cluster["worker"])

    @property
    def replicas(self):
        """The batches a step trains: one from every worker with --sync-replicas."""
        return self.workers if self.sync else 1

    @property
    def name(self):
        return "%s %d" % (self.job_name, self.index)

    def address(self, job_name=None, index=None):
        job_name = self.job_name if job_name is None else job_name
        return self.cluster[job_name][self.index if index is None else index]


def task_of(args):
    """The Task the flags or TF_CONFIG name. Raises UsageError, in one line, for a cluster
    that cannot be: an unknown job, an index out of range, TF_CONFIG that is not JSON, a host
    without a port, both sources at once, none at all."""
    flag_names = ("ps_hosts", "worker_hosts", "job_name", "task_index")
    given = [name for name in flag_names if getattr(args, name) is not None]
    config_text = os.environ.get("TF_CONFIG", "").strip()
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
        cluster, job_name, index = _from_tf_config(config_text)
        source = "TF_CONFIG's task type"
    else:
        raise UsageError("no cluster: name it with --ps-hosts, --worker-hosts, --job-name and "
                         "--task-index, or TF_CONFIG (cluster.py starts one on this machine; "
                         "to train on this machine alone, run the lesson itself)")
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
    if len(set(map(_same_place, addresses))) < len(addresses):
        raise UsageError("the cluster names one address twice: each task needs its own port")
    foreign = [address for address in addresses if _host(address) not in LOOPBACK]
    if foreign and not args.trusted_network:
        raise UsageError(
            "the cluster names %s, not this machine: TensorFlow's servers have no "
            "authentication and listen on every interface, so anyone who reaches a port can "
            "run code in it; add --trusted-network if the network is private" % foreign[0])
    if args.eval_only:
        raise UsageError("--eval-only reads a checkpoint on this machine: run it with the "
                         "lesson itself, without a cluster")
    return Task(cluster, job_name, index, args.sync_replicas, args.task_timeout)


def _from_tf_config(text):
    """TF_CONFIG -> (cluster, job name, index), read by TensorFlow's resolver, after the
    checks that give each mistake its one line (the resolver takes a task index "1" for 1,
    and would fail on the others with a traceback of its own)."""
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise UsageError("TF_CONFIG is not JSON: %s" % (
            "nested too deeply" if isinstance(e, RecursionError) else e))
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise UsageError('TF_CONFIG has no "cluster": {"ps": [...], "worker": [...]}')
    unknown = sorted(set(config["cluster"]) - set(JOBS))
    if unknown:
        raise UsageError("TF_CONFIG's cluster has a job %r: this project's clusters have ps "
                         "and worker jobs (worker 0 is the chief)" % unknown[0])
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task:
        raise UsageError('TF_CONFIG has no "task": {"type": "worker", "index": 0}')
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int):  # the resolver takes "1" for 1
        raise UsageError("TF_CONFIG's task index %r is not a whole number" % (index,))
    try:  # what the checks above leave to TensorFlow's own reader of TF_CONFIG
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver(
            task_type=task["type"], task_id=index)
        spec = resolver.cluster_spec().as_dict()
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise UsageError("TF_CONFIG's cluster is not {job: [host:port, ...]}: %s" % e)
    cluster = {}
    for job_name in JOBS:
        hosts = spec.get(job_name, [])
        if isinstance(hosts, dict):  # the resolver keeps a sparse job as {index: address}
            hosts = [hosts[i] for i in sorted(hosts)]
        for address in hosts:
            _check_address(address, "TF_CONFIG's %s job" % job_name)
        cluster[job_name] = list(hosts)
    return cluster, resolver.task_type, resolver.task_id


def _host(address):
    return address.rsplit(":", 1)[0].strip("[]")


def _same_place(address):
    """An address as the machine sees it: localhost:P, 127.0.0.1:P and [::1]:P are one."""
    host, port = _host(address), address.rsplit(":", 1)[1]
    return ("loopback" if host in LOOPBACK else host), port


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


def worker_seed(seed, index):
    """Each worker draws its own batches and dropout; the chief keeps --seed. (The validation
    set, the first --validation-size images, is the same for all.)"""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % 2 ** 31)


def start_server(task):
    """This task's gRPC server, started."""
    try:
        return tf.train.Server(tf.train.ClusterSpec(task.cluster), job_name=task.job_name,
                               task_index=task.index, start=True)
    except (tf.errors.OpError, ValueError) as e:
        raise UsageError("%s cannot listen on %s: %s" % (task.name, task.address(),
                                                         error_reason(e)))


def session_config(config, task):
    """config, with what a worker needs: it talks to the ps tasks and to itself only
    (device_filters), and no operation waits longer than --task-timeout."""
    config.device_filters.extend(["/job:ps", "/job:worker/task:%d" % task.index])
    config.operation_timeout_in_ms = int(task.timeout * 1000)
    return config


def wait_for_ps(task):
    """Waits until every ps task answers on its port; a UsageError after the timeout."""
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


# The flags in which the tasks of a cluster may differ: how each starts and where it reads
# (the seed: each worker draws its own batches from it, worker_seed()).
OWN_FLAGS = set(flags.RUN_FLAGS) - {"model", "sync_replicas"} | {"seed", "data_dir"}


@contextlib.contextmanager
def closing(sess, explain=None):
    """`with sess:`, except that where the block fails, the session's close is waited for
    CLOSE_S seconds, not TensorFlow's 30: with a task of the cluster gone, the close waits for
    it, and the task's one-line error waited half a minute behind it. (The close carries on
    in its own thread; the program then ends without waiting for it, command_line.end.)
    A TensorFlow error is explained (explain: WorkerRun.explain) before the close, as the
    cluster is when it failed: a ps cut off for a while may answer again by the close's end."""
    with sess.as_default():
        try:
            yield sess
        except BaseException as error:
            explained = (explain(error) if explain and isinstance(error, tf.errors.OpError)
                         else None)
            closer = threading.Thread(target=sess.close, name="SessionCloseThread", daemon=True)
            closer.start()
            closer.join(CLOSE_S)
            if closer.is_alive():
                command_line.LEFT_RUNNING.append(closer)
            if explained is not None:
                raise explained from None
            raise
    sess.close()


def agree_with_the_chief(server, task, args):
    """The chief publishes the flags that every worker must share, its model's and its
    schedule's, in a variable on ps 0; another worker compares its own with them and ends
    in one line naming the first that differs (TensorFlow would wait for variables that the
    chief's model never makes, or train half of the run one way, half another)."""
    mine = flags_to_agree(args)
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            published = tf.Variable("", trainable=False, collections=[], name="chief_flags")
        text = tf.placeholder(tf.string)
        publish = published.assign(text)
        config = session_config(tf.ConfigProto(), task)
        with closing(tf.Session(server.target, config=config)) as sess:
            if task.is_chief:
                sess.run(publish, {text: json.dumps(mine)})
                return
            deadline = time.monotonic() + task.timeout
            while True:
                try:
                    chiefs = json.loads(sess.run(published))
                    break
                except tf.errors.FailedPreconditionError:  # not yet published
                    if time.monotonic() > deadline:
                        return  # wait_for_session() names the chief that never came
                    time.sleep(POLL_S)
            error = disagreement(task, mine, chiefs)
            if error:
                sess.run(done_ops(task))  # the ps tasks count it as done: they need not wait
                raise error


def flags_to_agree(args):
    """The flags every task of a cluster shares, as the chief publishes them (JSON's)."""
    return json.loads(json.dumps({name: value for name, value in sorted(vars(args).items())
                                  if name not in OWN_FLAGS}))


def disagreement(task, mine, chiefs):
    """The UsageError of a worker whose flags (flags_to_agree's) differ from the chief's,
    naming the first that differs; None where they agree."""
    # The model first: one model has flags that another lacks.
    differ = [name for name in ["model", *mine] if mine[name] != chiefs.get(name)]
    if not differ:
        return None
    name = differ[0]
    return UsageError("%s: %s, but the chief (worker 0 at %s) has %s: every task of a cluster "
                      "trains the same model the same way" % (
                          task.name, _flag_text(name, mine[name]), task.address("worker", 0),
                          _flag_text(name, chiefs.get(name))))


def _flag_text(name, value):
    flag = "--" + name.replace("_", "-")
    if value is True:
        return flag
    if value in (False, None):
        return "no " + flag
    if isinstance(value, list):
        return "%s %s" % (flag, ",".join(str(v) for v in value))
    return "%s %s" % (flag, value)


def wait_for_session(session_manager, target, config, task):
    """A worker's session, once the chief has initialised or restored the variables
    (SessionManager.wait_for_session), or a UsageError after --task-timeout."""
    try:
        return session_manager.wait_for_session(target, config=config,
                                                max_wait_secs=task.timeout)
    except tf.errors.DeadlineExceededError:
        raise UsageError("%s: the chief (worker 0 at %s) did not initialise the variables "
                         "within %g s" % (task.name, task.address("worker", 0), task.timeout))


def run_again_if_refused(run, *args, **kwargs):
    """run(*args, **kwargs), called again when TensorFlow's gRPC runtime refuses a request it
    has "received twice": now and then it resends one that had arrived, and the step then
    ends in an AbortedError (TF1's MonitoredSession would make a new session for it)."""
    for attempt in range(RETRIES + 1):
        try:
            return run(*args, **kwargs)
        except tf.errors.AbortedError as e:
            if "received twice" not in str(e) or attempt == RETRIES:
                raise


def done_ops(task):
    """The ops by which a worker tells each ps task that it is done."""
    return [_done_queue(index, task.workers).enqueue(task.index)
            for index in range(len(task.cluster["ps"]))]


def _done_queue(ps_index, workers):
    """The queue on ps task ps_index in which each worker leaves its number when done."""
    with tf.device("/job:ps/task:%d" % ps_index):
        return tf.FIFOQueue(workers, tf.int32, shared_name="workers_done_%d" % ps_index)


def serve(server, task):
    """A ps task's whole life: serves the variables until every worker has said it is
    done (done_ops()), then returns {}. TensorFlow's own server.join() never returns."""
    with tf.Graph().as_default():
        dequeue = _done_queue(task.index, task.workers).dequeue()
        config = tf.ConfigProto(device_filters=["/job:ps/task:%d" % task.index])
        with tf.Session(server.target, config=config) as sess, _signals_as_flag() as stop:
            print("%s serving at %s for %d workers" % (
                task.name, task.address(), task.workers), flush=True)
            done, finished = set(), threading.Event()  # (a worker started again says it twice)
            threading.Thread(target=_watch_workers, args=(task, done, stop, finished),
                             daemon=True).start()
            try:
                while len(done) < task.workers:
                    worker = None
                    while worker is None:
                        if stop:  # Ctrl-C or SIGTERM, seen between waits
                            raise KeyboardInterrupt
                        try:  # a second at a time, to see them
                            worker = sess.run(dequeue,
                                              options=tf.RunOptions(timeout_in_ms=1000))
                        except tf.errors.DeadlineExceededError:
                            pass
                    if worker not in done:
                        print("%s: worker %d is done" % (task.name, worker), flush=True)
                    done.add(worker)
            finally:
                finished.set()
    return {}


def _watch_workers(task, done, stop, finished):
    """A ps task's watch, in a thread of its own, until `finished`: once the network is cut,
    serve() may wait in sess.run for ever (the run's own time-out does not end that wait).
    When none of the workers not yet done has answered on its port for --task-timeout, or a
    signal to stop has not been seen in 5 s, it ends the process with its line: a ps holds
    nothing that the chief's checkpoints do not keep."""
    last_answer, stop_since = None, None
    while not finished.wait(POLL_S * 4):
        if stop:
            stop_since = stop_since or time.monotonic()
            if time.monotonic() - stop_since > 5:
                _end_now(130, "interrupted")
        try:
            last_answer = _workers_gone(task, done, last_answer)
        except UsageError as e:
            _end_now(2, "error: %s" % e)


def _end_now(status, text):
    sys.stderr.write("distributed_mnist.py: %s\n" % text)
    sys.stderr.flush()
    os._exit(status)


def _workers_gone(task, done, last_answer):
    """When a worker not yet done last answered on its port (now, if one does); a UsageError
    once none has for --task-timeout, their network cut, say: a ps that waited for their
    word that they are done would wait for ever."""
    waiting = [index for index in range(task.workers) if index not in done]
    if any(_unreachable(task.address("worker", index)) is None for index in waiting):
        return time.monotonic()
    if last_answer is not None and time.monotonic() - last_answer > task.timeout:
        raise UsageError("%s: no worker it serves (%s) has answered for %g s; ending (the "
                         "chief's last checkpoint keeps the run: --resume continues it)" % (
                             task.name, ", ".join("worker %d at %s" % (
                                 index, task.address("worker", index)) for index in waiting),
                             task.timeout))
    return last_answer


@contextlib.contextmanager
def _signals_as_flag():
    """A list that Ctrl-C, SIGTERM and SIGHUP append to, instead of raising in the middle of
    a TensorFlow call (which would garble the error)."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _unreachable(address):
    """None if something listens at host:port, else why not."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=POLL_S * 4):
            return None
    except OSError as e:
        return e.strerror or str(e)


def stopped_workers(task, others=True):
    """The other workers whose ports no longer answer (others=False: of the chief alone)."""
    return [index for index, address in enumerate(task.cluster["worker"])
            if index != task.index and (others or index == 0)
            and _unreachable(address) is not None]


def stopped_error(task, index, unseen_s=None):
    """worker `index` has stopped (unseen_s: has not answered for that long since training
    began, not once), in a sync cluster."""
    what = ("has stopped" if unseen_s is None else
            "has not answered in the %.0f s since training began" % unseen_s)
    return UsageError("%s: worker %d at %s %s; with --sync-replicas every step needs all %d "
                      "workers" % (task.name, index, task.address("worker", index), what,
                                   task.workers))


def explain(task, error, sync_stopped=False):
    """A UsageError saying in one line what a TensorFlow error means in this cluster
    (sync_stopped: the sync queue's thread has stopped, which ends the step it closes)."""
    reason = error_reason(error)
    culprit = _task_in(task, str(error))
    if isinstance(error, tf.errors.DeadlineExceededError) or sync_stopped:
        stopped = stopped_workers(task) if task.sync else []
        if stopped:
            return stopped_error(task, stopped[0])
        lost = [] if task.sync else [index for index, address in enumerate(task.cluster["ps"])
                                     if _unreachable(address) is not None]
        if lost:  # its network cut, most often
            return UsageError("%s lost ps %d (%s): it has not answered for %g s "
                              "(--task-timeout); restart the cluster, and the chief with "
                              "--resume to continue from the last checkpoint" % (
                                  task.name, lost[0], task.cluster["ps"][lost[0]],
                                  task.timeout))
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


class WorkerLooks:
    """A worker's looks at the other workers' ports, once a second as it trains. A worker
    other than the chief stops once the chief has not answered for --task-timeout: only the
    chief keeps the run, and steps trained without it would be lost. With --sync-replicas, a
    worker that has stopped (its port closed) is an error at once: SyncReplicasOptimizer
    would wait for its gradient until the timeout, or, holding a token it left, step without
    it; so is one never seen for --task-timeout since training began (one that stopped
    while this worker's step waited, before any look saw it)."""

    def __init__(self, task):
        self.task, self.workers_seen, self.next_look, self.first_look = task, set(), 0.0, None
        self.chief_seen = time.monotonic()

    def look(self):
        now = time.monotonic()
        if (self.task.is_chief and not self.task.sync) or now < self.next_look:
            return
        self.next_look = now + 1.0
        self.first_look = self.first_look or now
        stopped = stopped_workers(self.task, others=self.task.sync)  # each port looked at once
        if not self.task.is_chief:
            if 0 not in stopped:
                self.chief_seen = now
            elif now - self.chief_seen > self.task.timeout:
                raise UsageError("%s: the chief (worker 0 at %s) has not answered for %g s; "
                                 "stopping, as only the chief keeps the run (--resume "
                                 "continues from its last checkpoint)" % (
                                     self.task.name, self.task.address("worker", 0),
                                     self.task.timeout))
        if self.task.sync:
            self.workers_seen.update(set(range(self.task.workers)) - set(stopped)
                                     - {self.task.index})
            for index in stopped:
                if index in self.workers_seen:
                    raise stopped_error(self.task, index)
                if now - self.first_look > self.task.timeout:
                    raise stopped_error(self.task, index, now - self.first_look)


class WorkerRun(training.Run):
    """The Run of one worker of a cluster. Its steps are the global step's: the loop sees the
    steps this worker trains, while the others train theirs. Only the chief restores, writes
    and evaluates; another worker's run writes nothing, and its validate() and save() do
    nothing. Leaving it turns a TensorFlow error into one line naming the task.

    Args: the Task; then as Run, without the session (see steps()).
    """

    def __init__(self, task, args, mnist, evaluator, learning_rate=None):
        self.task, self.replicas, self.writes = task, task.replicas, task.is_chief
        self.who = task.name + ": "
        self.coordinator = tf.train.Coordinator()  # for the sync queue's thread
        super().__init__(args, None, mnist, evaluator, learning_rate)
        self._done = done_ops(task)
        self.looks = WorkerLooks(task)
        self._global_step_seen = 0

    def explain(self, error):
        """A TensorFlow error as one line naming the task (before the sync queue stops)."""
        return explain(self.task, error, self.task.sync and self.coordinator.should_stop())

    def __exit__(self, exc_type, exc, traceback):
        explained = self.explain(exc) if isinstance(exc, tf.errors.OpError) else None
        self.coordinator.request_stop()  # the sync queue's thread ends with the session
        super().__exit__(exc_type, exc, traceback)
        if explained is not None:
            raise explained from None

    def restore(self, sess):
        """Restores the run's last checkpoint into sess: the chief's SessionManager init_fn."""
        self.sess = sess
        super().restore()

    def steps(self, sess):
        """The steps still to train, in sess, the session of this worker."""
        self.sess = sess
        return super().steps()

    def record(self, loss_value, global_step):
        """Keeps a step's loss, and the global step fetched with it (see next_step)."""
        self._global_step_seen = int(global_step)
        super().record(loss_value)

    def next_step(self, step):
        """The step after the global step fetched with the last train step (read after it),
        whichever worker trained those in between. (With --sync-replicas the chief applies
        the step a moment later: the worker trains again until the global step shows it.)"""
        step = self._global_step_seen + 1
        if step <= self.total_steps:  # (the others may end once the last step is done)
            self.looks.look()
        return step

    def _run(self, fetches):
        try:
            return self.sess.run(fetches)
        except tf.errors.OpError as e:
            raise explain(self.task, e)

    def save(self, step):
        try:  # the variables come from the ps tasks
            super().save(step)
        except UsageError as e:
            if not isinstance(e.__context__, tf.errors.OpError):
                raise
            raise explain(self.task, e.__context__) from None

    def finish(self):
        """Says what this worker trained; the chief then saves the last step, if another
        worker trained it, and evaluates the test set as Run.finish does. Then tells each ps
        task that this worker is done: a ps ends when all have said so."""
        figures = self._finish()
        self._run(self._done)
        self.coordinator.request_stop()
        return figures

    def _finish(self):
        trained, seconds, images_per_s = self.progress.speed()
        print("%s trained %d steps in %.1f s (%.0f images/s)" % (
            self.task.name, trained, seconds, images_per_s or 0), flush=True)
        global_step = int(self._run(self.checkpoints.global_step))
        if not self.writes:
            return {"global_step": global_step, "train_seconds": seconds,
                    "train_images_per_s": images_per_s, "losses": self.losses}
        if self._saved_step != global_step:
            self.save(global_step)
        print("the last checkpoint %s" % self.checkpoint_path)
        cluster_images_per_s = ((global_step - self.start_step) * self.args.batch_size
                                * self.replicas / max(seconds, 1e-9))
        print("the cluster: %d workers, %s, %.0f images/s" % (
            self.task.workers, "synchronous" if self.task.sync else "asynchronous",
            cluster_images_per_s), flush=True)
        return super().finish(global_step, cluster_images_per_s=cluster_images_per_s,
                              cluster=self.task.cluster, sync_replicas=self.task.sync)
