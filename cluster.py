"""Trains a lesson's model as a cluster on this machine: distributed_mnist.py's ps and worker
tasks, each a process of its own on a free 127.0.0.1 port, told its part by TF_CONFIG.

    python cluster.py cnn --ps 1 --workers 2 -- --epochs 1 [--sync-replicas]

The model is one of distributed_mnist.py's --model: softmax, mlp, cnn, rnn, autoencoder.
What follows `--` goes to every task. Each task's lines come prefixed with its name. Worker 0,
the chief, writes the run directory (runs/cnn_mnist/N, as alone), which --eval-only,
classify.py and draw.py read like any other. The cluster ends with the chief:
- when every worker has finished, the ps tasks end too;
- when the chief, a ps task or, with --sync-replicas, any worker fails, the other tasks are
  ended, and the exit status is the failed task's;
- a worker other than the chief that fails in asynchronous training is reported, and the
  others carry on without it; one that has not ended 30 s after the chief (stopped, say) is
  ended;
- Ctrl-C, SIGTERM or SIGHUP (the terminal closed) ends every task (the chief keeps its last
  checkpoint: --resume continues from it), and a second Ctrl-C kills them at once; a task
  whose launcher is gone, even killed, ends too (Linux tells it, stopped or not).

TensorFlow's servers have no authentication and listen on every interface, not only on
127.0.0.1: while the cluster runs, anyone who can reach this machine's ports can run code in
it. Run it on a machine that a firewall keeps to itself, or on a private network.
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from tfmnist import flags
from tfmnist.command_line import interrupt
from tfmnist.lessons import LESSONS

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_mnist.py")
WORKERS_GRACE_S = 30  # after the chief ends well, how long the other workers have to end
PS_GRACE_S = 10  # after the last worker, how long the ps tasks have to end on their own
STOP_GRACE_S = 30  # after SIGTERM, how long a task has to end before SIGKILL


def free_ports(count):
    """`count` ports on 127.0.0.1 that nothing listens on now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _end_with_the_launcher():
    """In a task's process before it starts: a process group of its own, so that Ctrl-C
    reaches the launcher only, which ends the tasks in order. When the launcher is gone,
    however it went, the kernel tells the task: SIGTERM (Linux's PR_SET_PDEATHSIG), and, to a
    stopped task, which would hold that signal while stopped, SIGHUP and SIGCONT (POSIX does
    this for a group that the launcher's end leaves without a parent in its session)."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class TaskProcess:
    """One task's process, with a thread that prints its lines prefixed by its name."""

    def __init__(self, job_name, index, command, tf_config):
        self.job_name, self.index = job_name, index
        self.name = "%s %d" % (job_name, index)
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, preexec_fn=_end_with_the_launcher)
        self._printer = threading.Thread(target=self._print_lines, daemon=True)
        self._printer.start()

    def _print_lines(self):
        for line in self.process.stdout:
            sys.stdout.write("[%s] %s" % (self.name, line.decode(errors="replace")))
            sys.stdout.flush()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()  # the scripts end on SIGTERM as on Ctrl-C
            self.process.send_signal(signal.SIGCONT)  # a stopped one (kill -STOP) too

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def wait(self, seconds):
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._printer.join(5)


def status_text(returncode):
    if returncode < 0:
        return "killed by signal %d" % -returncode
    return "exit status %d" % returncode


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cluster.py", description=flags.description(__doc__),
        formatter_class=flags.HelpFormatter,
        usage="python cluster.py MODEL [--ps N] [--workers N] [-- FLAGS FOR EVERY TASK]")
    parser.add_argument("model", choices=sorted(LESSONS),
                        help="the lesson's model, as distributed_mnist.py --model")
    parser.add_argument("--ps", type=flags.number(int, lambda v: 1 <= v <= 16,
                                                  "a whole number from 1 to 16"),
                        default=1, help="parameter servers")
    parser.add_argument("--workers", type=flags.number(int, lambda v: 1 <= v <= 64,
                                                       "a whole number from 1 to 64"),
                        default=2, help="workers (worker 0: the chief)")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    script_args = argv[split + 1:]  # for every task
    parser = build_parser()
    args = parser.parse_args(argv[:split])

    ports = free_ports(args.ps + args.workers)
    cluster = {"ps": ["127.0.0.1:%d" % port for port in ports[:args.ps]],
               "worker": ["127.0.0.1:%d" % port for port in ports[args.ps:]]}
    sync = "--sync-replicas" in script_args
    print("cluster.py: %s on %s; TensorFlow's servers listen on every interface without "
          "authentication: keep this machine's ports from other hosts (a firewall)"
          % (args.model, json.dumps(cluster)), flush=True)
    command = [sys.executable, "-u", PROGRAM, "--model", args.model, *script_args]
    previous = {number: signal.signal(number, interrupt)
                for number in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.getsignal(signal.SIGINT)
    tasks = []
    try:
        for job_name in ("ps", "worker"):
            for index in range(len(cluster[job_name])):
                tasks.append(TaskProcess(job_name, index, command, {
                    "cluster": cluster, "task": {"type": job_name, "index": index}}))
        return supervise(tasks, sync)
    except KeyboardInterrupt:
        # A second Ctrl-C is noted, not raised: raised inside Popen.wait, it can leave
        # Popen's own lock taken, and the next wait would wait for ever.
        again = []
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, lambda signum, frame: again.append(signum))
        print("cluster.py: interrupted; ending every task", file=sys.stderr, flush=True)
        stop(tasks, again)
        return 130
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def supervise(tasks, sync):
    """Waits for the tasks; returns the launcher's exit status."""
    workers = [task for task in tasks if task.job_name == "worker"]
    ps_tasks = [task for task in tasks if task.job_name == "ps"]
    running, lost = set(tasks), []
    ps_deadline = workers_deadline = None
    while running:
        time.sleep(0.1)
        for task in sorted(running, key=lambda t: t.name):
            returncode = task.process.poll()
            if returncode is None:
                continue
            running.discard(task)
            task.wait(0)
            if returncode == 0:
                if task is workers[0]:  # the chief: the run is whole, the others follow
                    workers_deadline = time.monotonic() + WORKERS_GRACE_S
                continue
            if task.job_name == "worker" and task.index > 0 and not sync:
                print("cluster.py: %s stopped (%s); the other workers carry on without it"
                      % (task.name, status_text(returncode)), file=sys.stderr, flush=True)
                lost.append(task.name)
                continue
            print("cluster.py: %s failed (%s); ending the other tasks" % (
                task.name, status_text(returncode)), file=sys.stderr, flush=True)
            stop(tasks)
            return returncode if returncode > 0 else 128 - returncode
        if workers_deadline is not None and time.monotonic() > workers_deadline:
            for task in workers:  # stalled (stopped, or stuck): the run needs it no more
                if task in running:
                    print("cluster.py: %s did not end within %g s of the chief; ending it"
                          % (task.name, WORKERS_GRACE_S), file=sys.stderr, flush=True)
                    task.stop()
                    task.wait(STOP_GRACE_S)
                    running.discard(task)
                    lost.append(task.name)
        if not any(task in running for task in workers) and ps_deadline is None:
            ps_deadline = time.monotonic() + PS_GRACE_S
        if ps_deadline is not None and time.monotonic() > ps_deadline:
            for task in ps_tasks:  # waiting for a lost worker's word that it is done
                if task in running:
                    task.stop()
                    task.wait(STOP_GRACE_S)
                    running.discard(task)
    if lost:
        print("cluster.py: the run finished without %s" % ", ".join(lost), file=sys.stderr,
              flush=True)
    return 0


def stop(tasks, interrupted=()):
    """Ends the workers, then the ps tasks (which the workers' last steps may need). Once
    `interrupted` holds a signal (a second Ctrl-C), kills every task at once."""
    for group in ([t for t in tasks if t.job_name == "worker"],
                  [t for t in tasks if t.job_name == "ps"]):
        for task in group:
            task.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        while (any(task.process.poll() is None for task in group) and not interrupted
               and time.monotonic() < deadline):
            time.sleep(0.1)
        if interrupted:
            print("cluster.py: interrupted again; killing every task", file=sys.stderr,
                  flush=True)
            for task in tasks:
                task.kill()
            return
        for task in group:
            task.wait(0)  # SIGKILL for one still running


if __name__ == "__main__":
    sys.exit(main())
