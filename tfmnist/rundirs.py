"""Run directories: each holds one training run, and nothing of any other.

    runs/cnn_mnist/1/   config.json, checkpoint, model.ckpt-*, events.out.tfevents.*,
    runs/cnn_mnist/2/   metrics.json, training_curves.png

Without --run-dir, a new run of a script gets the next number under runs/SCRIPT/, and
--resume, --eval-only and classify.py take the highest. While a run trains, it holds a lock
on its directory, so two processes never write into one.
"""
import fcntl
import json
import os
import re
import shutil
import tempfile

from tfmnist.command_line import UsageError

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS_DIR = os.path.join(REPO_DIR, "runs")  # every run writes under here (git ignores it)
CONFIG_FILE = "config.json"  # the flags the run was started with, written as it starts
METRICS_FILE = "metrics.json"  # its figures, written when it finishes
LOCK_FILE = ".lock"  # held while a process trains in the directory
# What TensorFlow's Saver and our atomic writes leave behind when killed mid-write.
_TEMPORARY = re.compile(r"(.*_temp|checkpoint\.tmp[0-9a-f]+|.*\.tempstate\d*|.*\.tmp)$")
_RUN_FILES = re.compile(r"(config\.json|checkpoint|model\.ckpt-.*|events\.out\.tfevents\..*)$")


def script_runs(script):
    """The directory of a script's numbered runs: runs/cnn_mnist."""
    return os.path.join(RUNS_DIR, os.path.splitext(os.path.basename(script))[0])


def holds_run(path):
    """True if the directory holds a run's files (flags, checkpoints or logs)."""
    try:
        return any(_RUN_FILES.match(name) for name in os.listdir(path))
    except OSError:
        return False


def numbered_runs(parent):
    """The numbered run directories in parent, lowest number first: [(number, path)]."""
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return sorted((int(name), os.path.join(parent, name)) for name in names
                  if name.isdigit() and os.path.isdir(os.path.join(parent, name)))


def find_run_dir(args):
    """(the run directory the flags ask for, whether it was made now): --run-dir, or a new
    numbered one for a new run; to resume or evaluate, the run restoring.find_run finds."""
    if args.resume or args.eval_only:
        from tfmnist import restoring  # a run read back: only then

        return restoring.find_run(args), False
    if args.run_dir:
        return args.run_dir, False
    return new_numbered(script_runs(args.script)), True


def open_run(args, config):
    """(the run directory the flags ask for, its Lock): found or made, locked to train in
    (not to evaluate: no lock), with config written as config.json for a new run."""
    run_dir, created = find_run_dir(args)
    lock = None if args.eval_only else claim(run_dir, fresh=not args.resume, created=created)
    if not (args.resume or args.eval_only):
        try:
            write_json(run_dir, CONFIG_FILE, config)
        except BaseException:
            remove_unsaved_run(run_dir, lock)
            raise
    return run_dir, lock


def new_numbered(parent):
    """Creates parent/N, N one more than the highest number there; returns its path."""
    make_dirs(parent, "")
    number = max([n for n, _ in numbered_runs(parent)], default=0) + 1
    while True:  # another process may take a number at the same moment: mkdir is atomic
        path = os.path.join(parent, str(number))
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            number += 1
        except OSError as e:
            raise UsageError("cannot create %s: %s" % (path, e.strerror or e))


def make_dirs(path, flag="--run-dir "):
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError("%s%s is a file, not a directory" % (flag, path))
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UsageError("%scannot create %s: %s" % (flag, path, e.strerror or e))


class Lock:
    """An exclusive lock on a run directory, released on close() or when the process ends,
    however it ends (the operating system drops a dead process's locks)."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, LOCK_FILE)
        try:
            self._file = open(self.path, "a+")
        except OSError as e:
            if os.path.isdir(self.path):
                raise UsageError("%s, the lock file of the run directory, is a directory: "
                                 "remove it" % self.path)
            raise UsageError("cannot write in %s: %s" % (run_dir, e.strerror or e))
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            owner = self._file.read().strip() or "?"
            self._file.close()
            raise UsageError("%s is in use: process %s is training in it; wait for it to end, "
                             "or choose another --run-dir" % (run_dir, owner))
        self._file.truncate(0)
        self._file.write(str(os.getpid()))
        self._file.flush()

    def close(self):
        self._file.close()  # closing the file releases the lock


def claim(run_dir, fresh, created=False):
    """Locks run_dir for a run to train in; returns the Lock. A fresh run needs the
    directory new or empty: another run's files must never mix with its own. Temporary files
    that a killed save left are removed. created: the caller made the directory (else it is
    made here if missing); a new run that saves nothing takes away only a directory made for
    it."""
    created = created or not os.path.isdir(run_dir)
    make_dirs(run_dir)
    lock = Lock(run_dir)
    lock.created_dir = created
    try:
        others = sorted(name for name in os.listdir(run_dir) if name != LOCK_FILE)
        if fresh and others:
            what = ("another run" if holds_run(run_dir)
                    else "other files (%s)" % ", ".join(others[:3]))
            raise UsageError("--run-dir %s holds %s: --resume continues it; a new run needs "
                             "a new or empty --run-dir (or none, for the next numbered run in "
                             "runs/)" % (run_dir, what))
        remove_temporary_files(run_dir)
    except BaseException:
        lock.close()
        raise
    return lock


def close_run(run_dir, lock, keep):
    """Releases a run directory's lock; a run with nothing to keep is taken away first."""
    if not keep:
        remove_unsaved_run(run_dir, lock)
    lock.close()


def remove_unsaved_run(run_dir, lock, everything=False):
    """Removes the files of a new run that saved no checkpoint, and its directory if it was
    made for the run. The directory was empty when the run claimed it: all are its own
    (everything: whatever their names, as transfer_mnist.py's own files)."""
    for name in os.listdir(run_dir):
        if everything or _RUN_FILES.match(name) or _TEMPORARY.match(name) or name == LOCK_FILE:
            _remove(os.path.join(run_dir, name))
    lock.close()
    if lock.created_dir:
        try:
            os.rmdir(run_dir)
        except OSError:
            pass  # something else is there now


def remove_temporary_files(run_dir):
    """Removes what an interrupted checkpoint save or atomic write left in run_dir."""
    for name in os.listdir(run_dir):
        if _TEMPORARY.match(name):
            _remove(os.path.join(run_dir, name))


def _remove(path):
    """Removes a file or a directory tree, as far as it can: cleaning up never fails a run."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.remove(path)
        except OSError:
            pass


def write_atomically(path, data):
    """Writes bytes to path through a temporary file, so that path is never half-written."""
    fd, temp_path = tempfile.mkstemp(dir=os.path.dirname(path) or ".",
                                     prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)  # mkstemp's files are private; this one need not be
        os.replace(temp_path, path)
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)


def write_json(run_dir, name, values):
    """Writes a dict as run_dir/name, atomically; a full disk is a UsageError."""
    path = os.path.join(run_dir, name)
    try:
        write_atomically(path, (json.dumps(values, indent=2, sort_keys=True) + "\n").encode())
    except OSError as e:
        raise UsageError("cannot write %s: %s" % (path, e.strerror or e))

