"""Training across machines (distributed_mnist.py, tfmnist/distributed.py), and the launcher
(cluster.py): clusters of real processes on 127.0.0.1, on tiny data, in seconds."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import REPO_DIR, command, last_error_line, tiny_flags

import cluster
import distributed_mnist
import softmax_mnist
from tfmnist import command_line, distributed, lessons
from tfmnist.command_line import UsageError

PYTHON = sys.executable


def tf_config(cluster_spec, job_name, index):
    return json.dumps({"cluster": cluster_spec, "task": {"type": job_name, "index": index}})


def until(condition, seconds, what, every=0.1):
    """Polls condition() until it is true; fails with what() once `seconds` have passed.
    Each poll looks for the event itself: the deadline only ends a hang."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(every)


def loopback_cluster(ps=1, workers=2):
    ports = cluster.free_ports(ps + workers)
    return {"ps": ["127.0.0.1:%d" % p for p in ports[:ps]],
            "worker": ["127.0.0.1:%d" % p for p in ports[ps:]]}


class Tasks:
    """A cluster's tasks, started by hand as on separate machines, each logging to a file."""

    def __init__(self, tmp_path, cluster_spec, model="softmax"):
        self.tmp_path, self.cluster, self.model = tmp_path, cluster_spec, model
        self.processes = {}
        self.prefixes = {}  # a task's command's first words (`ip netns exec NAME`), by task
        self.logs = tmp_path / ("logs%d" % len(list(tmp_path.glob("logs*"))))
        self.logs.mkdir()

    def start(self, job_name, index, *flags):
        name = "%s%d" % (job_name, index)
        log = open(self.logs / (name + ".log"), "a")
        env = dict(os.environ, TF_CONFIG=tf_config(self.cluster, job_name, index))
        self.processes[name] = subprocess.Popen(
            [*self.prefixes.get(name, []), PYTHON, "-u",
             os.path.join(REPO_DIR, "distributed_mnist.py"), "--model",
             self.model, *flags], env=env, stdout=log, stderr=subprocess.STDOUT,
            cwd=str(self.tmp_path))
        return self.processes[name]

    def log(self, name):
        return (self.logs / (name + ".log")).read_text()

    def wait_for(self, name, pattern, seconds=60):
        """Waits until the task's log matches `pattern`; fails if the task ends first."""
        def printed():
            if re.search(pattern, self.log(name)):
                return True
            assert self.processes[name].poll() is None, self.log(name)
            return False

        until(printed, seconds, lambda: "%s never printed %r:\n%s" % (
            name, pattern, self.log(name)))

    def wait(self, name, seconds=120):
        try:
            return self.processes[name].wait(seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not end within %d s; its last lines:\n%s" % (
                name, seconds, "\n".join(self.log(name).splitlines()[-15:]))) from None

    def kill_all(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def tasks(tmp_path):
    made = []

    def make(cluster_spec, model="softmax"):
        made.append(Tasks(tmp_path, cluster_spec, model))
        return made[-1]

    yield make
    for each in made:
        each.kill_all()


def launch(tmp_path, model, *flags, workers=2, timeout=180):
    """Runs cluster.py; returns (exit status, its output)."""
    result = subprocess.run(
        [PYTHON, os.path.join(REPO_DIR, "cluster.py"), model, "--ps", "1", "--workers",
         str(workers), "--", *flags], capture_output=True, text=True, timeout=timeout,
        cwd=REPO_DIR)
    return result.returncode, result.stdout + result.stderr


# The cluster from flags and TF_CONFIG: each bad one is a single line.
GOOD = {"cluster": {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223", "localhost:2224"]},
        "task": {"type": "worker", "index": 1}}


def with_task(**task):
    return json.dumps(dict(GOOD, task=dict(GOOD["task"], **task)))


@pytest.mark.parametrize("config, argv, message", [
    ("{not json", [], "TF_CONFIG is not JSON"),
    (with_task(type="chief"), [], "TF_CONFIG's task type 'chief' is not a job of this cluster"),
    (with_task(index=2), [], "task index 2 is out of range: the cluster has 2 worker tasks"),
    (with_task(index="1"), [], "TF_CONFIG's task index '1' is not a whole number"),
    (json.dumps({"cluster": {"ps": ["127.0.0.1"], "worker": ["127.0.0.1:2223"]},
                 "task": {"type": "ps"}}), [], "'127.0.0.1' is not host:port"),
    (json.dumps({"cluster": {"evaluator": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]},
                 "task": {"type": "worker"}}), [], "cluster has a job 'evaluator'"),
    (json.dumps({"task": {"type": "worker"}}), [], 'TF_CONFIG has no "cluster"'),
    (json.dumps({"cluster": {"ps": ["127.0.0.1:1"], "worker": ["127.0.0.1:1"]},
                 "task": {"type": "worker"}}), [], "names one address twice"),
    (json.dumps({"cluster": {"ps": ["localhost:7"], "worker": ["127.0.0.1:7", "[::1]:8"]},
                 "task": {"type": "worker"}}), [], "names one address twice"),
    (json.dumps({"cluster": {"ps": ["127.0.0.1:7"], "worker": ["[::1]:7"]},
                 "task": {"type": "worker"}}), [], "names one address twice"),
    (with_task(), ["--ps-hosts", "127.0.0.1:5"], "both TF_CONFIG and --ps-hosts"),
    (json.dumps(dict(GOOD, cluster=dict(GOOD["cluster"], ps=["10.0.0.7:2222"]))), [],
     "names 10.0.0.7:2222, not this machine"),
    (with_task(), ["--eval-only"], "--eval-only reads a checkpoint on this machine"),
    (None, ["--worker-hosts", "127.0.0.1:1", "--ps-hosts", "127.0.0.1:2", "--job-name",
            "worker", "--task-index", "1"],
     "task index 1 is out of range: the cluster has 1 worker task (0 to 0)"),
    (None, ["--ps-hosts", "127.0.0.1:1", "--worker-hosts", "127.0.0.1:2:x",
            "--job-name", "worker"], "--worker-hosts: '127.0.0.1:2:x' is not host:port"),
    (None, ["--ps-hosts", "127.0.0.1:1", "--job-name", "worker"], "--worker-hosts is missing"),
    (None, ["--worker-hosts", "127.0.0.1:1", "--job-name", "ps"], "no ps task"),
    (None, ["--worker-hosts", "127.0.0.1:1,127.0.0.1:2", "--ps-hosts", "127.0.0.1:3",
            "--job-name", "master"], "--job-name 'master' is not a job of this cluster"),
    (None, ["--sync-replicas"], "no cluster: name it with --ps-hosts"),
])
def test_a_bad_cluster_is_one_line(monkeypatch, capsys, tmp_path, config, argv, message):
    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", config)
    assert command(["--model", "softmax", "--run-dir", str(tmp_path / "run"), *argv],
                   distributed_mnist) == 2
    line = last_error_line(capsys)
    assert message in line, line
    assert not (tmp_path / "run").exists()


def test_the_cluster_from_flags_and_from_tf_config_is_the_same(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", with_task())
    _, from_config = distributed_mnist.parse_args(["--model", "softmax", "--no-save"])
    monkeypatch.delenv("TF_CONFIG")
    _, from_flags = distributed_mnist.parse_args([
        "--model", "softmax", "--no-save", "--ps-hosts", "127.0.0.1:2222", "--job-name",
        "worker", "--worker-hosts", "127.0.0.1:2223,localhost:2224", "--task-index", "1"])
    for task in (from_config, from_flags):
        assert task.cluster == GOOD["cluster"]
        assert (task.job_name, task.index, task.is_chief, task.workers) == ("worker", 1, False, 2)


def test_the_lessons_know_nothing_of_clusters():
    for name in lessons.LESSONS:
        lesson = lessons.lesson(name)
        with pytest.raises(SystemExit):
            lesson.build_parser().parse_args(["--ps-hosts", "127.0.0.1:1"])
        text = open(lesson.__file__).read()
        for word in ("args.task", "ps_hosts", "replica_device_setter", "is_chief", "tf.device",
                     "Server", "ps task"):
            assert word not in text, (lesson.__name__, word)


def test_the_workers_draw_their_own_batches_from_the_same_split(monkeypatch):
    seeds = []
    for index in (0, 1):
        monkeypatch.setenv("TF_CONFIG", with_task(index=index))
        seeds.append(distributed_mnist.parse_args(["--model", "softmax", "--no-save"])[0].seed)
    assert seeds[0] == 0 and seeds[1] != 0  # the chief keeps --seed; the validation set
    # is the first --validation-size images whatever the seed


@pytest.mark.slow
def test_async_cluster_of_a_ps_and_two_workers(shared_tiny_dir, tmp_path):
    run_dir = tmp_path / "run"
    status, output = launch(tmp_path, "softmax", *tiny_flags(
        shared_tiny_dir, run_dir, "--steps", "60", "--log-every", "20"))
    assert status == 0, output
    assert "Traceback" not in output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_step"] >= 60 and not metrics["sync_replicas"]
    assert metrics["test_accuracy"] > 0.5  # chance is 0.1
    assert len(metrics["cluster"]["worker"]) == 2
    assert re.search(r"\[worker 1\] worker 1 trained \d+ steps", output)
    assert "[ps 0] ps 0: worker 0 is done" in output and "worker 1 is done" in output
    assert "validation" not in "".join(line for line in output.splitlines()
                                       if line.startswith("[worker 1]"))
    # One run directory, which the scripts read like any other.
    assert softmax_mnist.main(["--eval-only", "--run-dir", str(run_dir), "--data-dir",
                               shared_tiny_dir, "--validation-size", "100"]
                              )["test_accuracy"] == metrics["test_accuracy"]


@pytest.mark.slow
def test_sync_cluster_steps_with_one_gradient_from_each_worker(shared_tiny_dir, tmp_path):
    run_dir = tmp_path / "run"
    status, output = launch(tmp_path, "softmax", *tiny_flags(
        shared_tiny_dir, run_dir, "--epochs", "4", "--log-every", "10", "--sync-replicas"))
    assert status == 0, output
    assert "Traceback" not in output and "Cancelled" not in output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # 4 epochs of 500 images, in steps of a batch of 50 from each of 2 workers.
    assert metrics["global_step"] == 20 and metrics["sync_replicas"]
    assert "training 20 steps of 2 x 50 (4.0 epochs)" in output
    assert metrics["test_accuracy"] > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("model, extra", [
    ("cnn", ["--sync-replicas"]),
    ("rnn", ["--sync-replicas"]),
    ("mlp", ["--batch-norm"]),
    ("autoencoder", []),
])
def test_every_lessons_model_trains_in_a_cluster(shared_tiny_dir, tmp_path, model, extra):
    run_dir = tmp_path / "run"
    status, output = launch(tmp_path, model, *tiny_flags(
        shared_tiny_dir, run_dir, "--steps", "3", *extra), workers=1)
    assert status == 0, output
    assert "Traceback" not in output
    assert json.loads((run_dir / "metrics.json").read_text())["global_step"] == 3


@pytest.mark.slow
def test_a_chief_refused_by_its_run_directory_says_one_line(shared_tiny_dir, tmp_path):
    run_dir = tmp_path / "run"
    softmax_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "3"))
    status, output = launch(tmp_path, "softmax", *tiny_flags(shared_tiny_dir, run_dir),
                            workers=1)
    assert status == 2, output
    chief_lines = [line for line in output.splitlines() if line.startswith("[worker 0]")]
    assert chief_lines[-1] == (  # the last: not TensorFlow's "Object was never used" block
        "[worker 0] distributed_mnist.py: error: --run-dir %s holds another run: --resume "
        "continues it; a new run needs a new or empty --run-dir (or none, for the next "
        "numbered run in runs/)" % run_dir), output


# What a worker must share with its chief (issue 41): a chief's flags, and a worker's that
# differ in one, or only in what each task may choose for itself (None: they agree).
CHIEF = ["--model", "softmax", "--no-save", "--sync-replicas", "--ps-hosts", "127.0.0.1:2222",
         "--worker-hosts", "127.0.0.1:2223,127.0.0.1:2224", "--job-name", "worker"]


@pytest.mark.parametrize("worker_flags, words", [
    (CHIEF + ["--model", "mlp"], "--model mlp, but the chief (worker 0 at 127.0.0.1:2223) has "
                                 "--model softmax"),
    (CHIEF + ["--batch-size", "7"], "--batch-size 7, but the chief (worker 0 at "
                                    "127.0.0.1:2223) has --batch-size %(batch_size)d"),
    ([flag for flag in CHIEF if flag != "--sync-replicas"],
     "no --sync-replicas, but the chief (worker 0 at 127.0.0.1:2223) has --sync-replicas"),
    (CHIEF + ["--epochs", "3"], "--epochs 3.0, but the chief (worker 0 at 127.0.0.1:2223) "
                                "has --epochs %(epochs)s"),
    (CHIEF + ["--seed", "5", "--log-every", "7", "--data-dir", "elsewhere", "--threads", "1"],
     None),
], ids=["model", "batch size", "sync", "schedule", "its own flags"])
def test_a_worker_that_differs_from_its_chief_is_named_in_one_line(worker_flags, words,
                                                                    monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    chief_args, _ = distributed_mnist.parse_args(CHIEF + ["--task-index", "0"])
    worker_args, worker = distributed_mnist.parse_args(worker_flags + ["--task-index", "1"])
    error = distributed.disagreement(worker, distributed.flags_to_agree(worker_args),
                                     distributed.flags_to_agree(chief_args))
    if words is None:
        assert error is None
    else:
        assert str(error) == ("worker 1: " + words % vars(chief_args)
                              + ": every task of a cluster trains the same model the same way")


@pytest.mark.slow
def test_a_worker_that_differs_from_its_chief_ends_in_one_line(shared_tiny_dir, tmp_path,
                                                               tasks):
    # The chief's flags reach the worker through ps 0 (each difference: the test above).
    cluster_spec = loopback_cluster(ps=1, workers=2)
    run = tasks(cluster_spec)
    flags = tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "30", "--sync-replicas")
    run.start("ps", 0)
    run.start("worker", 0, *flags)
    run.start("worker", 1, *flags, "--model", "mlp")
    assert run.wait("worker1", 60) == 2, run.log("worker1")
    assert run.log("worker1").strip().splitlines()[-1] == (
        "distributed_mnist.py: error: worker 1: --model mlp, but the chief (worker 0 at %s) "
        "has --model softmax: every task of a cluster trains the same model the same way"
        % cluster_spec["worker"][0])


@pytest.mark.slow
def test_a_port_where_nothing_listens_fails_within_the_timeout(shared_tiny_dir, tmp_path,
                                                                tasks):
    cluster_spec = loopback_cluster(ps=1, workers=1)  # nothing is started on the ps port
    chief = tasks(cluster_spec)
    chief.start("worker", 0, *tiny_flags(shared_tiny_dir, tmp_path / "run", "--task-timeout",
                                         "2"))
    assert chief.wait("worker0", 60) == 2
    lines = chief.log("worker0").strip().splitlines()
    assert lines[-1] == (
        "distributed_mnist.py: error: worker 0: ps 0 at %s did not answer within 2 s (Connection "
        "refused): start it, or check the cluster (--ps-hosts or TF_CONFIG)"
        % cluster_spec["ps"][0]), lines
    assert not (tmp_path / "run").exists()


def worker_1_killed_while_training(tasks, flags, steps):
    """A ps and two workers started with flags (--steps steps); worker 1 killed once both
    train. Returns the tasks."""
    cluster_tasks = tasks(loopback_cluster(ps=1, workers=2))
    cluster_tasks.start("ps", 0)
    cluster_tasks.start("worker", 0, *flags)
    cluster_tasks.start("worker", 1, *flags)
    cluster_tasks.wait_for("worker1", r"step\s+\d+/%d" % steps)  # both train
    cluster_tasks.processes["worker1"].kill()
    return cluster_tasks


@pytest.mark.slow
def test_async_carries_on_without_a_killed_worker(shared_tiny_dir, tmp_path, tasks):
    run_dir = tmp_path / "run"
    flags = tiny_flags(shared_tiny_dir, run_dir, "--steps", "400", "--log-every", "1")
    cluster_tasks = worker_1_killed_while_training(tasks, flags, 400)
    assert cluster_tasks.wait("worker0") == 0, cluster_tasks.log("worker0")
    assert json.loads((run_dir / "metrics.json").read_text())["global_step"] >= 400


@pytest.mark.slow
def test_sync_with_a_killed_worker_is_a_clear_error(shared_tiny_dir, tmp_path, tasks):
    run_dir = tmp_path / "run"
    flags = tiny_flags(shared_tiny_dir, run_dir, "--steps", "100000", "--log-every", "1",
                       "--sync-replicas", "--task-timeout", "3")
    cluster_tasks = worker_1_killed_while_training(tasks, flags, 100000)
    killed = time.monotonic()
    assert cluster_tasks.wait("worker0", 60) == 2
    assert time.monotonic() - killed < 30
    last = cluster_tasks.log("worker0").strip().splitlines()[-1]
    # (Killed before the chief's look, once a second, saw it: "has not answered in the 4 s
    # since training began", where it trained on alone before.)
    assert re.fullmatch(
        r"distributed_mnist\.py: error: worker 0: worker 1 at %s (has stopped|has not answered "
        r"in the \d+ s since training began); with --sync-replicas every step needs all 2 "
        r"workers" % re.escape(cluster_tasks.cluster["worker"][1]), last), last
    assert "Traceback" not in cluster_tasks.log("worker0")


@pytest.mark.slow
def test_a_killed_ps_is_named_and_resume_recovers(shared_tiny_dir, tmp_path, tasks):
    run_dir = tmp_path / "run"
    cluster_spec = loopback_cluster(ps=1, workers=1)
    first = tasks(cluster_spec)
    flags = tiny_flags(shared_tiny_dir, run_dir, "--epochs", "30", "--log-every", "1")
    first.start("ps", 0)
    first.start("worker", 0, *flags)
    # Step 21's line comes after the checkpoint of epoch 2 (step 20) is saved; step 20's
    # comes before it, and a CI run once killed the ps in the middle of that save.
    first.wait_for("worker0", r"step\s+2[1-9]/")
    first.processes["ps0"].kill()
    assert first.wait("worker0", 60) == 2  # the error, then 5 s for the session to close
    last = first.log("worker0").strip().splitlines()[-1]
    assert last.startswith("distributed_mnist.py: error: worker 0 lost ps 0 (%s): "
                           % cluster_spec["ps"][0]), last
    assert "=" not in last and "From /job" not in last  # the cause, not TensorFlow's frame
    assert "--resume" in last and "Traceback" not in first.log("worker0")

    again = tasks(cluster_spec)  # a new ps, and the chief resuming
    again.start("ps", 0)
    again.start("worker", 0, *flags, "--resume")
    assert again.wait("worker0", 300) == 0, again.log("worker0")
    log = again.log("worker0")
    resumed_from = int(re.search(r"from step (\d+)", log)[1])
    assert resumed_from >= 20
    assert json.loads((run_dir / "metrics.json").read_text())["global_step"] == 300
    assert again.wait("ps0", 30) == 0  # told by its only worker that it is done


@pytest.mark.slow
def test_a_killed_chief_resumes_from_its_last_checkpoint(shared_tiny_dir, tmp_path, tasks):
    run_dir = tmp_path / "run"
    cluster_tasks = tasks(loopback_cluster(ps=1, workers=1))
    flags = tiny_flags(shared_tiny_dir, run_dir, "--epochs", "30", "--log-every", "1")
    cluster_tasks.start("ps", 0)
    cluster_tasks.start("worker", 0, *flags)
    cluster_tasks.wait_for("worker0", r"step\s+3\d/")
    cluster_tasks.processes["worker0"].send_signal(signal.SIGKILL)
    cluster_tasks.wait("worker0")
    cluster_tasks.start("worker", 0, *flags, "--resume")  # the same ps, still serving
    assert cluster_tasks.wait("worker0") == 0, cluster_tasks.log("worker0")
    assert re.search(r"training \d+ steps of 50 \(30.0 epochs\) from step [1-9]\d",
                     cluster_tasks.log("worker0"))
    assert json.loads((run_dir / "metrics.json").read_text())["global_step"] == 300
    assert cluster_tasks.wait("ps0", 30) == 0


FAKE_TASK = """
import json, os, signal, sys, time
task = json.loads(os.environ["TF_CONFIG"])["task"]
failing = tuple(json.loads(sys.argv[3]))  # after --model NAME
print("I am", task["type"], task["index"], sys.argv[1:], flush=True)
open("%s.%s%d" % (os.environ["FAILED_FLAG"], task["type"], task["index"]), "w").close()
if (task["type"], task["index"]) == failing:
    # Once every task has said who it is: the launcher ends the others when this one fails.
    said = [os.environ["FAILED_FLAG"] + name for name in (".ps0", ".worker0", ".worker1")]
    deadline = time.monotonic() + 20
    while not all(map(os.path.exists, said)) and time.monotonic() < deadline:
        time.sleep(0.05)
    open(os.environ["FAILED_FLAG"], "w").close()
    sys.exit(3)
if task["type"] == "ps":
    signal.pause()  # as a ps waits for its workers: the launcher ends it
while failing[0] != "none" and not os.path.exists(os.environ["FAILED_FLAG"]):
    time.sleep(0.05)  # the other workers end once the failing task has failed
"""


@pytest.mark.slow
@pytest.mark.parametrize("failing, sync, status, message", [
    (["worker", 1], False, 0, "cluster.py: worker 1 stopped (exit status 3); the other "
                              "workers carry on without it"),
    (["worker", 1], True, 3, "cluster.py: worker 1 failed (exit status 3); ending the other "
                             "tasks"),
    (["worker", 0], False, 3, "cluster.py: worker 0 failed (exit status 3); ending the other "
                              "tasks"),
    (["ps", 0], False, 3, "cluster.py: ps 0 failed (exit status 3); ending the other tasks"),
    (["none", 0], False, 0, None),
])
def test_the_launcher_ends_the_cluster_as_its_tasks_do(tmp_path, monkeypatch, capsys, failing,
                                                       sync, status, message):
    script = tmp_path / "fake.py"
    script.write_text(FAKE_TASK)
    monkeypatch.setattr(cluster, "PS_GRACE_S", 1)
    monkeypatch.setattr(cluster, "PROGRAM", str(script))
    monkeypatch.setenv("FAILED_FLAG", str(tmp_path / "failed"))
    argv = ["softmax", "--workers", "2", "--", json.dumps(failing)]
    started = time.monotonic()
    assert cluster.main(argv + (["--sync-replicas"] if sync else [])) == status
    assert time.monotonic() - started < 30
    out, err = capsys.readouterr()
    assert "[worker 1] I am worker 1" in out and "[ps 0] I am ps 0" in out
    if message:
        assert message in err, err
    else:
        assert "failed" not in err and "stopped" not in err


@pytest.mark.parametrize("model", ["gradient_descent_demo.py", "cnn_mnist.py", "no_such"])
def test_the_launcher_runs_only_the_models_distributed_mnist_trains(capsys, model):
    with pytest.raises(SystemExit) as exit_info:
        cluster.main([model])
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("cluster.py: error: argument model: invalid choice: %r (choose from"
                           % model), line  # Python 3.12 lists the choices without quotes
    assert all(name in line for name in lessons.LESSONS), line


def test_the_kubernetes_manifest_names_one_consistent_cluster(monkeypatch):
    manifest = open(os.path.join(REPO_DIR, "docs", "kubernetes.yaml")).read()
    configs = re.findall(r"value: '(\{.*\})'", manifest)
    assert len(configs) == 3
    tasks = []
    for config in configs:
        monkeypatch.setenv("TF_CONFIG", config)
        tasks.append(distributed_mnist.parse_args([
            "--model", "cnn", "--no-save", "--trusted-network", "--sync-replicas"])[1])
    assert all(task.cluster == tasks[0].cluster for task in tasks)
    assert sorted((task.job_name, task.index) for task in tasks) == [
        ("ps", 0), ("worker", 0), ("worker", 1)]


def test_a_request_the_runtime_refused_as_received_twice_is_run_again():
    from tfmnist.tf1 import tf

    calls = []

    def run(fetches, message=None):
        calls.append(fetches)
        if message and len(calls) <= 2:
            raise tf.errors.AbortedError(None, None, message)
        return fetches

    assert distributed.run_again_if_refused(
        run, "train", "The same RunGraph request was received twice.") == "train"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(tf.errors.AbortedError):  # any other abort is the caller's to see
        distributed.run_again_if_refused(run, "train", "Graph handle is not found")


def test_a_failed_runs_session_is_given_seconds_to_close_not_thirty(monkeypatch):
    # A session whose ps is gone waits for it in close(); TensorFlow's `with sess:` waits 30 s
    # for that, and the task's one-line error waited behind it.
    import contextlib
    import threading

    from tfmnist.tf1 import tf

    class Session:
        def __init__(self, released):
            self.closed, self.released = threading.Event(), released

        def as_default(self):
            return contextlib.nullcontext()

        def close(self):
            self.released.wait(60)  # as a close that waits for a ps that is gone
            self.closed.set()

    monkeypatch.setattr(distributed, "CLOSE_S", 0.2)
    monkeypatch.setattr(command_line, "LEFT_RUNNING", [])
    explained = []

    def explain(error):  # WorkerRun.explain: while the cluster is as it failed
        explained.append(len(closes_begun))
        return UsageError("worker 0 lost ps 0")

    released = threading.Event()
    sessions, closes_begun = [Session(released), Session(released)], []
    for session in sessions:
        session.close = lambda close=session.close: (closes_begun.append(1), close())
    started = time.monotonic()
    with pytest.raises(ZeroDivisionError):  # not TensorFlow's: raised as it is
        with distributed.closing(sessions[0], explain):
            1 / 0
    closes_begun.clear()
    with pytest.raises(UsageError, match="lost ps 0"):
        with distributed.closing(sessions[1], explain):
            raise tf.errors.UnavailableError(None, None, "Socket closed")
    assert explained == [0]  # explained before the close began
    assert time.monotonic() - started < 5
    assert not any(session.closed.is_set() for session in sessions)
    # The program ends without waiting for those closes (Python's own exit would stop them
    # as they come back from TensorFlow: SIGABRT), and as sys.exit does once they are done.
    left = command_line.LEFT_RUNNING
    assert len(left) == 2 and all(thread.is_alive() for thread in left)
    monkeypatch.setattr(command_line.os, "_exit", lambda status: sys.exit(("at once", status)))
    for status, ended in ((2, ("at once", 2)), (130, ("at once", 130))):
        with pytest.raises(SystemExit) as exit:
            command_line.end(status)
        assert exit.value.code == ended
    released.set()
    for thread in left:
        thread.join(5)
    with pytest.raises(SystemExit) as exit:
        command_line.end(2)
    assert exit.value.code == 2
    done = Session(threading.Event())
    done.released.set()
    with distributed.closing(done, explain):  # a run that ends well: closed as it is left
        pass
    assert done.closed.is_set()


def test_a_sync_worker_that_stops_is_an_error_whether_or_not_a_look_saw_it():
    """With --sync-replicas the chief looks at the other workers' ports once a second, when a
    step ends: a worker whose port closes after a look saw it has stopped; one that no look
    ever saw (it stopped while the chief's step waited) is one once --task-timeout has passed
    since training began. Before, the chief trained on alone for ever."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        [closed] = cluster.free_ports(1)
        spec = {"ps": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:%d" % closed]}
        for seen, since, words in ((True, 0.0, "has stopped"),
                                   (False, 0.0, None),  # the timeout has not passed
                                   (False, 10.0, "has not answered in the 10 s since")):
            looks = distributed.WorkerLooks(distributed.Task(spec, "worker", 0, True, 3.0))
            looks.workers_seen = {1} if seen else set()
            looks.first_look = time.monotonic() - since if since else None
            if words is None:
                looks.look()
                continue
            with pytest.raises(UsageError, match="worker 0: worker 1 at 127.0.0.1:%d %s"
                               % (closed, words)):
                looks.look()
        # A worker that answers is seen, and no error.
        spec["worker"][1] = "127.0.0.1:%d" % listening.getsockname()[1]
        looks = distributed.WorkerLooks(distributed.Task(spec, "worker", 0, True, 3.0))
        looks.look()
        assert looks.workers_seen == {1}


@pytest.mark.slow
def test_ctrl_c_ends_every_task_of_the_launcher(shared_tiny_dir, tmp_path):
    run_dir = tmp_path / "run"
    launcher = subprocess.Popen(
        [PYTHON, "-u", os.path.join(REPO_DIR, "cluster.py"), "softmax", "--", *tiny_flags(
            shared_tiny_dir, run_dir, "--steps", "1000000", "--log-every", "10")],
        cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, training, validated = [], set(), False
    for line in launcher.stdout:  # until both workers train and the chief has a checkpoint:
        lines.append(line)  # a step of the chief's after its validation, which its save follows
        step = re.match(r"\[worker (\d)\] step\s+\d+/", line)
        if step and (step.group(1) == "1" or validated):
            training.add(step.group(1))
        validated = validated or line.startswith("[worker 0] validation")
        if training == {"0", "1"}:
            break
    launcher.send_signal(signal.SIGINT)
    rest, _ = launcher.communicate(timeout=60)
    output = "".join(lines) + rest
    assert launcher.returncode == 130, output
    assert "cluster.py: interrupted; ending every task" in output, output
    assert re.search(r"\[worker 0\] distributed_mnist.py: interrupted; the last checkpoint saved, "
                     r".*model\.ckpt-\d+, is complete \(--resume continues from it\)",
                     output), output  # all of it: the failure's own summary cuts it short
    assert "Traceback" not in output, output
    ports = json.loads(re.search(r"on (\{.*\}); ", output)[1])
    for address in ports["ps"] + ports["worker"]:  # every task has ended: nothing listens
        assert cluster_unreachable(address)


def cluster_unreachable(address):
    return distributed._unreachable(address) is not None


STALLING_TASK = """
import json, os, signal, sys
task = json.loads(os.environ["TF_CONFIG"])["task"]
print("I am", task["type"], task["index"], "pid", os.getpid(), flush=True)
if (task["type"], task["index"]) == ("worker", 0) and "--chief-ends" in sys.argv:
    sys.exit(0)  # the chief finishes the run
if (task["type"], task["index"]) == ("worker", 1) and "--chief-ends" in sys.argv:
    os.kill(os.getpid(), signal.SIGSTOP)  # as `kill -STOP` on it
if "--deaf" in sys.argv:  # a task that does not end when it is told to
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.pause()  # waits, as a ps waits for its workers
"""


def gone(pid):
    """True once the process has ended (a zombie that nobody reaps counts as ended)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" in f.read()
    except FileNotFoundError:
        return True


@pytest.mark.slow
def test_a_stalled_worker_is_ended_once_the_chief_is_done(tmp_path, monkeypatch, capsys):
    script = tmp_path / "stalling.py"
    script.write_text(STALLING_TASK)
    monkeypatch.setattr(cluster, "PROGRAM", str(script))
    monkeypatch.setattr(cluster, "WORKERS_GRACE_S", 1)
    monkeypatch.setattr(cluster, "PS_GRACE_S", 1)
    started = time.monotonic()
    assert cluster.main(["softmax", "--workers", "2", "--", "--chief-ends"]) == 0
    assert time.monotonic() - started < 30  # stopped with SIGTERM and SIGCONT, not SIGKILL
    err = capsys.readouterr().err
    assert "cluster.py: worker 1 did not end within 1 s of the chief; ending it" in err
    assert "cluster.py: the run finished without worker 1" in err


@pytest.fixture
def launcher_with_stalling_tasks(tmp_path):
    """Starts cluster.py in a process of its own, its three tasks started and waiting;
    returns (the launcher, the tasks' process ids). What a failed test leaves, it kills."""
    started = []

    def start(*task_flags):
        started.append(_launcher_with_stalling_tasks(tmp_path, *task_flags))
        return started[-1]

    yield start
    for launcher, pids in started:
        for pid in pids:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
        launcher.communicate()


def _launcher_with_stalling_tasks(tmp_path, *task_flags):
    script = tmp_path / "stalling.py"
    script.write_text(STALLING_TASK)
    code = ("import sys; sys.path.insert(0, %r); import cluster; cluster.PROGRAM = %r; "
            "sys.exit(cluster.main(['softmax', '--workers', '2', '--', *%r]))"
            % (REPO_DIR, str(script), list(task_flags)))
    launcher = subprocess.Popen([PYTHON, "-u", "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
    pids = []
    for line in launcher.stdout:
        match = re.search(r"I am \w+ \d pid (\d+)", line)
        if match:
            pids.append(int(match[1]))
            if len(pids) == 3:
                return launcher, pids
    raise AssertionError("the tasks never started: %s" % launcher.communicate())


def state(pid):
    with open("/proc/%d/status" % pid) as f:
        return re.search(r"\nState:\t(\w)", f.read())[1]


@pytest.mark.slow
@pytest.mark.parametrize("how, stopped", [(signal.SIGHUP, False), (signal.SIGTERM, False),
                                          (signal.SIGKILL, False), (signal.SIGKILL, True)],
                         ids=["SIGHUP", "SIGTERM", "SIGKILL", "SIGKILL-a-task-stopped"])
def test_no_task_outlives_its_launcher(launcher_with_stalling_tasks, how, stopped):
    launcher, pids = launcher_with_stalling_tasks()
    if stopped:  # `kill -STOP` on worker 1: the signal that tells it stays pending
        os.kill(pids[-1], signal.SIGSTOP)
        until(lambda: state(pids[-1]) == "T", 30, lambda: "worker 1 never stopped", every=0.01)
    launcher.send_signal(how)
    rest, _ = launcher.communicate(timeout=60)
    if how != signal.SIGKILL:  # (a killed launcher says nothing: its tasks are told)
        assert launcher.returncode == 130, rest
        assert "cluster.py: interrupted; ending every task" in rest
    until(lambda: all(gone(pid) for pid in pids), 30,
          lambda: "still running: %s" % [pid for pid in pids if not gone(pid)])


@pytest.mark.slow
def test_ctrl_c_twice_kills_the_tasks_that_do_not_end(launcher_with_stalling_tasks):
    launcher, pids = launcher_with_stalling_tasks("--deaf")
    launcher.send_signal(signal.SIGINT)
    lines = []
    for line in launcher.stdout:
        lines.append(line)
        if "interrupted; ending every task" in line:
            break
    launcher.send_signal(signal.SIGINT)  # while it waits for tasks that ignore SIGTERM
    rest, _ = launcher.communicate(timeout=20)  # not the 30 s it gives each task
    assert launcher.returncode == 130, lines + [rest]
    assert rest == "cluster.py: interrupted again; killing every task\n"
    assert all(gone(pid) for pid in pids)
