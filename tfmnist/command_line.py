"""The programs as commands: a bad flag, file or checkpoint is one line on stderr and exit 2;
Ctrl-C (or SIGTERM, SIGHUP) is one line that says what was kept, and exit 130."""
import functools
import os
import signal
import sys

import input_data


class UsageError(Exception):
    """A flag, directory or checkpoint the run cannot use; the message says which and why."""


# Threads a program leaves running, maybe inside TensorFlow's C++ (a session's close waiting
# for a task that is gone, a request of draw.py's): Python's exit would stop one as it comes
# back from there, which aborts the process (SIGABRT).
LEFT_RUNNING = []


def end(status):
    """sys.exit(status); where a thread of LEFT_RUNNING still runs, at once (os._exit)."""
    if any(thread.is_alive() for thread in LEFT_RUNNING):
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def interrupt(signum, frame):
    """A signal handler that stops a program as Ctrl-C does."""
    raise KeyboardInterrupt


def run_main(main, script, trains=True):
    """Runs main() as a command: a bad flag, file or checkpoint gives one line and exit 2; a
    main that returns a number (classify.py's) exits with it.

    script: the program's file name; trains: the command trains, so an interruption says
    what happened to its checkpoints (the harness tells, on the KeyboardInterrupt, which
    checkpoint it left).
    """
    prog = os.path.basename(script)
    if "__file__" not in getattr(main, "__globals__", {"__file__": script}):
        # Pasted whole into a notebook cell, a program has no file, and the kernel's command
        # line (-f kernel.json) is not its own: it runs with its defaults, as `python SCRIPT`.
        main = functools.partial(main, [])
    # kill, `timeout` and a closed terminal stop a program as cleanly as Ctrl-C does.
    previous = {number: signal.signal(number, interrupt)
                for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        status = main()
    except (input_data.DataError, UsageError) as e:
        print("%s: error: %s" % (prog, e), file=sys.stderr)
        end(2)
    except KeyboardInterrupt as e:
        kept = getattr(e, "checkpoint", None)
        if not trains or not hasattr(e, "checkpoint"):
            what = ""
        elif kept:
            what = "; the last checkpoint saved, %s, is complete (--resume continues from it)" \
                % kept
        else:
            what = "; no checkpoint had been saved, so the run left nothing behind"
        print("\n%s: interrupted%s" % (prog, what), file=sys.stderr)
        end(130)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if type(status) is int:  # not a lesson's dict of figures
        end(status)
