"""A cluster cut apart by its network: each task in a Linux network namespace of its own,
joined by a bridge in another namespace, as machines by a switch; a link cut (`ip link set
... down`, at the switch's end) for a moment, or for good. Every task ends within a bound of
its --task-timeout, in one line; nothing the chief saved is lost; --resume continues.

Needs root (CI runs as root) and iproute2's `ip`; the namespaces, and the addresses inside
them, are the test's own, and are removed after it."""
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import tiny_flags
from test_cluster import Tasks, until

pytestmark = pytest.mark.slow

TASK_TIMEOUT = 4  # every task's --task-timeout, in seconds
# How long a task may take to end once it is cut off: a worker, its --task-timeout, a second
# between looks, and the 5 s it gives a session whose ps is gone to close (distributed.CLOSE_S);
# a ps, its --task-timeout after its last worker has ended.
BOUND_S = 3 * TASK_TIMEOUT + 15
TASKS = ("ps0", "worker0", "worker1")


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def network(request):
    """A namespace for each task (TASKS, or the test's parameter), a bridge joining them;
    yields {task: (namespace, address, the link's end at the bridge)} and removes them all
    after."""
    names = getattr(request, "param", TASKS)
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's `ip`")
    tag = uuid.uuid4().hex[:8]
    bridge = "tfm-%s-br" % tag
    made = []
    try:
        try:
            ip("netns", "add", bridge)
        except subprocess.CalledProcessError as e:
            pytest.skip("cannot make a network namespace here: %s" % e.stderr.strip())
        made.append(bridge)
        ip("-n", bridge, "link", "add", "br0", "type", "bridge")
        ip("-n", bridge, "link", "set", "br0", "up")
        places = {}
        for number, task in enumerate(names, start=1):
            namespace = "tfm-%s-%s" % (tag, task)
            ip("netns", "add", namespace)
            made.append(namespace)
            link = "to-" + task
            ip("-n", bridge, "link", "add", link, "type", "veth", "peer", "name", "eth0",
               "netns", namespace)
            ip("-n", bridge, "link", "set", link, "master", "br0", "up")
            address = "10.200.0.%d" % number
            ip("-n", namespace, "addr", "add", address + "/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
            places[task] = (namespace, address, link)
        yield dict(places, bridge=bridge)
    finally:
        for namespace in made:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def cut(network, task, up=False):
    """Cuts task's link (up=True: brings it back); the time of the cut is network["cut at"]."""
    ip("-n", network["bridge"], "link", "set", network[task][2], "up" if up else "down")
    if not up:
        network["cut at"] = time.monotonic()


def cluster_in(network, tmp_path):
    """Tasks that start each in its namespace, on port 2222 of its own address."""
    names = [name for name in network if name[:-1] in ("ps", "worker")]  # ps0, worker1, ...
    spec = {job: ["%s:2222" % network[name][1] for name in sorted(names) if name[:-1] == job]
            for job in ("ps", "worker")}
    tasks = Tasks(tmp_path, spec)
    tasks.prefixes = {name: ["ip", "netns", "exec", network[name][0]] for name in names}
    return tasks


# Training for a while (the ps has looked at the workers' ports): a cut from then on.
TRAINING = r"step\s+[2-9]\d\d/"


def workers(tasks):
    return ["worker%d" % index for index in range(len(tasks.cluster["worker"]))]


def start(tasks, flags, resume=False):
    for index in range(len(tasks.cluster["ps"])):
        tasks.start("ps", index, "--trusted-network", "--task-timeout", str(TASK_TIMEOUT))
    for index in range(len(tasks.cluster["worker"])):
        tasks.start("worker", index, *flags, *(["--resume"] if resume and index == 0 else []))


def train_then_cut(network, tmp_path, flags, *cut_off):
    """The cluster started, its workers training for a while; then the links of the tasks
    `cut_off` cut. Returns the tasks (the caller ends them); ends them itself if it fails."""
    tasks = cluster_in(network, tmp_path)
    try:
        start(tasks, flags)
        for worker in workers(tasks):
            tasks.wait_for(worker, TRAINING)  # (and checkpoints saved, one each epoch)
        for task in cut_off:
            cut(network, task)
    except BaseException:
        tasks.kill_all()
        raise
    return tasks


def last_line(tasks, task):
    return tasks.log(task).strip().splitlines()[-1]


def ends(tasks, network, **bounds):
    """{task: its exit status} once each task named has ended; fails if one has not within
    its bound, in seconds after the cut. Prints when each ended (pytest -s shows it)."""
    statuses = {}

    def every_one_ended():
        for name, seconds in bounds.items():
            if name in statuses:
                continue
            if tasks.processes[name].poll() is not None:
                statuses[name] = tasks.processes[name].returncode
                print("%s: exit status %d, %.1f s after the cut" % (
                    name, statuses[name], time.monotonic() - network["cut at"]))
                if statuses[name] < 0:  # killed by a signal: what it said last
                    print(tasks.log(name)[-3000:])
            else:
                assert time.monotonic() - network["cut at"] < seconds, (
                    "%s still runs %d s after the cut:\n%s" % (
                        name, seconds, tasks.log(name)[-2000:]))
        return len(statuses) == len(bounds)

    until(every_one_ended, max(bounds.values()), lambda: "a task still runs past its bound")
    return statuses


@pytest.fixture
def flags(shared_tiny_dir, tmp_path):
    return tiny_flags(shared_tiny_dir, tmp_path / "run", "--steps", "1000", "--log-every",
                      "10", "--trusted-network", "--task-timeout", str(TASK_TIMEOUT))


# Worker 1's link cut for good; worker 2's at the same moment, for twice the timeout, then
# back (as for good): one cluster for both cases (one each would start six TensorFlow
# processes, not four, for the same question).
@pytest.mark.parametrize("network", [("ps0", "worker0", "worker1", "worker2")], indirect=True)
def test_workers_cut_off_for_good_or_a_while_end_and_so_does_the_ps(network, tmp_path, flags):
    tasks = train_then_cut(network, tmp_path, flags, "worker1", "worker2")
    try:
        time.sleep(2 * TASK_TIMEOUT)  # the cut's length, not a wait for an event
        cut(network, "worker2", up=True)
        # The chief trains on alone, and ends; the ps then, within the bound.
        assert ends(tasks, network, worker1=BOUND_S, worker2=BOUND_S, worker0=300,
                    ps0=300 + BOUND_S) == {"worker1": 2, "worker2": 2, "worker0": 0, "ps0": 2}
        assert "worker 1" in last_line(tasks, "worker1")
        assert "worker 2" in last_line(tasks, "worker2")
        assert last_line(tasks, "ps0").startswith(
            "distributed_mnist.py: error: ps 0: no worker it serves (worker 1 at "
            "10.200.0.3:2222, worker 2 at 10.200.0.4:2222) has answered for %d s; ending"
            % TASK_TIMEOUT)
        assert json.loads((tmp_path / "run" / "metrics.json").read_text())[
            "global_step"] >= 1000
    finally:
        tasks.kill_all()


# A ps cut for good: the second of two (the first holds what only ps 0 holds, the chief's
# flags, and is cut in the other case); for twice the timeout, then back: the only one.
@pytest.mark.parametrize("network, ps, back_after", [
    (("ps0", "ps1", "worker0", "worker1"), "ps1", None), (TASKS, "ps0", 2 * TASK_TIMEOUT)],
    indirect=["network"], ids=["the second of two, for good", "a while"])
def test_the_ps_cut_off_for_good_ends_every_task(network, tmp_path, flags, ps, back_after):
    tasks = train_then_cut(network, tmp_path, flags, ps)
    try:
        if back_after:  # a cut longer than the timeout, then the link back: as for good
            time.sleep(back_after)  # (the cut's length, not a wait for an event)
            cut(network, ps, up=True)
        every_task = {name: BOUND_S for name in tasks.processes}
        assert ends(tasks, network, **every_task) == {name: 2 for name in every_task}
        for name in every_task:
            if name.startswith("ps"):
                assert "no worker it serves" in last_line(tasks, name), tasks.log(name)[-2000:]
            else:
                assert "lost ps %s" % ps[-1] in last_line(tasks, name), tasks.log(name)[-2000:]
    finally:
        tasks.kill_all()


def test_the_chief_cut_off_ends_every_task_and_resume_continues(network, tmp_path, flags):
    tasks = train_then_cut(network, tmp_path, flags, "worker0")
    try:
        assert ends(tasks, network, worker0=BOUND_S, worker1=BOUND_S, ps0=BOUND_S) == {
            "worker0": 2, "worker1": 2, "ps0": 2}
        assert last_line(tasks, "worker1") == (
            "distributed_mnist.py: error: worker 1: the chief (worker 0 at 10.200.0.2:2222) "
            "has not answered for %d s; stopping, as only the chief keeps the run (--resume "
            "continues from its last checkpoint)" % TASK_TIMEOUT)
        saved = tf_checkpoint_step(tmp_path / "run")
        assert saved > 0
    finally:
        tasks.kill_all()
    cut(network, "worker0", up=True)  # the link back: the run continues from its checkpoint
    again = cluster_in(network, tmp_path)
    try:
        start(again, flags, resume=True)
        assert ends(again, network, worker0=300) == {"worker0": 0}, again.log("worker0")
        resumed = re.search(r"from step (\d+);", again.log("worker0"))
        assert resumed and int(resumed[1]) >= saved, again.log("worker0")
        assert json.loads((tmp_path / "run" / "metrics.json").read_text())[
            "global_step"] >= 1000
    finally:
        again.kill_all()


def last_step(tasks, task):
    """The step of the task's last progress line (0 before the first)."""
    return max([0] + [int(s) for s in re.findall(r"^step\s+(\d+)/", tasks.log(task), re.M)])


def training_on(tasks, steps=30):
    """Waits until each worker's progress lines have gone `steps` past where they were."""
    marks = {worker: last_step(tasks, worker) + steps for worker in workers(tasks)}

    def trained_on():
        for worker in marks:
            assert tasks.processes[worker].poll() is None, tasks.log(worker)[-2000:]
        return all(last_step(tasks, worker) >= mark for worker, mark in marks.items())

    until(trained_on, BOUND_S, lambda: "no training since the link came back")


def test_a_short_cut_of_each_task_in_turn_is_ridden_out(network, tmp_path, flags):
    # One run, three cuts shorter than the timeout: worker 1's, the ps's, then the chief's,
    # each once both workers train again after the last (a cluster of its own for each
    # would start nine TensorFlow processes, not three, for the same question).
    # (Steps enough for three cuts and the pauses they make, on a fast machine too.)
    tasks = train_then_cut(network, tmp_path, flags + ["--steps", "2000"], "worker1")
    try:
        for task, after in (("worker1", "ps0"), ("ps0", "worker0"), ("worker0", None)):
            time.sleep(1)  # a cut shorter than the timeout (its length, not a wait for an event)
            cut(network, task, up=True)
            if after:  # both workers train on, then the next cut
                training_on(tasks)
                cut(network, after)
        assert ends(tasks, network, worker0=120, worker1=120, ps0=120) == {
            "worker0": 0, "worker1": 0, "ps0": 0}
    finally:
        tasks.kill_all()


def tf_checkpoint_step(run_dir):
    """The step of the run's last checkpoint, from its index file."""
    with open(os.path.join(str(run_dir), "checkpoint")) as f:
        return int(f.read().split('"')[1].rsplit("-", 1)[1])
