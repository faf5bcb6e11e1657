"""Draw a digit in the browser and watch the trained models read it.

    python draw.py            # then open http://127.0.0.1:8000

A small web server: it loads every trained classifier it finds (the newest run of each
script in runs/, or --model NAME=DIR) once, at start-up, and serves one page,
tfmnist/draw.html, where a drawing (or a photo dropped on the page) goes through
classify.py's preparation to every model (a number written in a row, digit by digit), and
the page shows what each model reads, its probabilities, and the 28x28 images it saw.

The standard library's http.server is enough for a tool on one's own machine: its
ThreadingHTTPServer answers requests in threads, TensorFlow sessions run concurrently, and
nothing else needs installing.
"""
import argparse
import base64
import binascii
import errno
import http.server
import json
import os
import select
import socket
import sys
import threading

import numpy as np

from tfmnist import classifiers, command_line, flags, lessons, restoring, rundirs
from tfmnist.photos import image_files
from tfmnist.command_line import UsageError, run_main
from tfmnist.photos.digits import prepare, unlike_digits

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tfmnist", "draw.html")
MAX_BODY_BYTES = 10 << 20  # a photo of a digit needs far less
# Images prepared at once: each may take a few hundred MB (image_files.MAX_WORKING_PIXELS),
# so the server's memory stays bounded however many requests come together.
PREPARING = threading.BoundedSemaphore(2)
# Connections served at once (a thread each): one beyond them gets a 503 at once, so that
# refusals never queue behind each other.
MAX_CONNECTIONS = 256
# Requests whose bodies (10 MB each at most) are in hand at once, read or waiting to be
# prepared; one more waits SLOT_WAIT_S for its turn, then gets 503.
MAX_BODIES = 16
BODIES = threading.BoundedSemaphore(MAX_BODIES)
SLOT_WAIT_S = 5
# How long a client may pause while sending, and how long it has to send its whole request:
# a client that sends a byte now and then is dropped all the same.
READ_TIMEOUT_S = 10
REQUEST_DEADLINE_S = 20
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def load_model(name, run_dir):
    """The classifier `name` from a run directory or a SavedModel's (classifiers.load)."""
    return classifiers.load(name, run_dir)


def load_models(run_dirs=None):
    """({name: Model} of every classifier with a trained run, {name: the command that trains
    it} of the others). run_dirs: {name: run directory} to use instead of the one
    classifiers.load chooses (the newest full run).

    A run that cannot be loaded (a damaged checkpoint) is said on stderr, and its model is
    left out: the others are still served."""
    loaded, missing = {}, {}
    for name in lessons.CLASSIFIERS:
        script = lessons.LESSONS[name]
        run_dir = (run_dirs or {}).get(name)
        try:
            if run_dir or restoring.newest(rundirs.script_runs(script), with_checkpoint=True):
                loaded[name] = load_model(name, run_dir)
                continue
        except UsageError as e:
            print("draw.py: %s left out: %s" % (name, e), file=sys.stderr)
        missing[name] = "python %s.py" % script
    return loaded, missing


def answer(models, body, still_wanted=lambda: True):
    """The JSON reply to a classify request's body: {"image": a data URL or base64 image}.

    Returns (HTTP status, reply dict). A reply to a good request holds, for each model, the
    number it reads ("number", one digit or several, as classify.py reads them) and each
    digit with its ten probabilities ("digits"; and for a single digit, "digit" and
    "probabilities" as well); the digits' 28x28 inputs side by side as a PNG data URL; and
    classify.py's note, if any. A bad one holds an "error". still_wanted() says, once the
    image's turn to be prepared has come, whether it still is (its client may be gone):
    if not, the status is None.
    """
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        return 400, {"error": "the request is not JSON: %s" % e}
    except RecursionError:
        return 400, {"error": "the request is not JSON this server reads: nested too deeply"}
    if not isinstance(request, dict) or not isinstance(request.get("image"), str):
        return 400, {"error": 'the request needs "image": an image as a data URL or base64'}
    encoded = request["image"].split(",", 1)[-1]  # data:image/png;base64,....
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return 400, {"error": "the image is not valid base64"}
    del request, encoded  # the image is in data: the text's copies go while it waits
    if not PREPARING.acquire(timeout=REQUEST_DEADLINE_S):
        return 503, {"error": "the server is preparing other images; retry in a moment"}
    try:
        if not still_wanted():
            return None, None  # nobody to answer: the work is not done
        prepared = prepare(image_files.decode(data))  # a number: its digits, each read
    except image_files.ImageError as e:
        return 422, {"error": str(e)}
    finally:
        PREPARING.release()
    images = np.reshape(prepared.digits, (len(prepared.digits), 784))
    answers = {}
    for name, model in models.items():
        digits = [{"digit": int(np.argmax(p)), "probabilities": [float(v) for v in p]}
                  for p in model.probabilities(images)]
        answers[name] = dict(digits[0] if len(digits) == 1 else {}, digits=digits,
                             number="".join(str(d["digit"]) for d in digits))
    return 200, {"input": "data:image/png;base64," + base64.b64encode(
        image_files.encode_png(np.concatenate(prepared.digits, axis=1))).decode(),
        "models": answers, "note": unlike_digits(prepared)}


def run_name(run_dir):
    """A run directory as the page shows it, without the machine's own paths: cnn_mnist/3."""
    inside = os.path.relpath(os.path.abspath(run_dir), rundirs.RUNS_DIR)
    return os.path.basename(run_dir) if inside.startswith(os.pardir) else inside


def about(model):
    """What the page says under a model's name: its run, test figure and whether it is a
    short run (classifiers.describe), without the machine's own paths."""
    return model.description.replace(model.run_dir, run_name(model.run_dir)).split(", ", 1)[-1]


def stop_reading(connection):
    """Shuts the connection for reading: a read waiting on it returns what has come."""
    try:
        connection.shutdown(socket.SHUT_RD)
    except OSError:
        pass


def client_is_here(connection):
    """False once the client has hung up (or sent more than its request)."""
    try:
        if not select.select([connection], [], [], 0)[0]:
            return True  # nothing to read: it is waiting for the answer
        return connection.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


class Handler(http.server.BaseHTTPRequestHandler):
    """GET / is the page, GET /models what is loaded, POST /classify reads an image.

    Only requests addressed to this server are answered (their Host header names it), and
    /classify takes JSON only: so a page of another site cannot post to it, through a form
    or a DNS name rebound to this machine.
    """
    server_version = "draw.py"
    timeout = READ_TIMEOUT_S  # the socket's, for every read: a stalled client is dropped
    models, missing, quiet, hosts = {}, {}, False, None  # set by serve()

    def setup(self):
        super().setup()
        # HTTP/1.0: one request a connection. At the deadline the socket stops reading,
        # and a read still waiting returns what has come (do_POST cancels it once read).
        self.deadline = threading.Timer(REQUEST_DEADLINE_S, stop_reading, [self.connection])
        self.deadline.daemon = True
        self.deadline.start()

    def finish(self):
        self.deadline.cancel()
        super().finish()

    def addressed_here(self):
        """False (after a 421 reply) unless the Host header names this server."""
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.hosts is None or name.lower() in self.hosts:
            return True
        self.reply_json(421, {"error": "this server answers requests for %s only, not %r"
                                       % (", ".join(sorted(self.hosts)), host)})
        return False

    def do_GET(self):
        if not self.addressed_here():
            return
        if self.path in ("/", "/index.html"):
            with open(PAGE, "rb") as f:
                self.reply(200, f.read(), "text/html; charset=utf-8")
        elif self.path == "/models":
            self.reply_json(200, {"models": {name: run_name(model.run_dir)
                                             for name, model in self.models.items()},
                                  "about": {name: about(model)
                                            for name, model in self.models.items()},
                                  "missing": self.missing})
        else:
            self.reply_json(404, {"error": "no such page: %s" % self.path})

    def do_POST(self):
        if not self.addressed_here():
            return
        if self.path != "/classify":
            self.reply_json(404, {"error": "no such endpoint: %s" % self.path})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.reply_json(411, {"error": "the request needs a Content-Length"})
            return
        if length > MAX_BODY_BYTES or length < 0:
            self.close_connection = True  # the body is not read
            self.reply_json(413, {"error": "the request is %d bytes; at most %d MB"
                                           % (length, MAX_BODY_BYTES >> 20)})
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self.close_connection = True  # the body is not read
            self.reply_json(415, {"error": "the request must be application/json, not %r"
                                           % content_type})
            return
        if not BODIES.acquire(timeout=SLOT_WAIT_S):
            self.close_connection = True  # the body is not read
            self.reply_json(503, {"error": "%d requests are being answered; retry in a moment"
                                           % MAX_BODIES})
            return
        try:
            try:
                body = self.rfile.read(length)
            except socket.timeout:  # TimeoutError from Python 3.10 on; its alias
                body = b""
            self.deadline.cancel()  # read: from here on, PREPARING's wait bounds it
            if len(body) < length:  # it stalled, or the deadline came
                self.close_connection = True
                status, reply = 408, {"error": "the request was not sent within %d s (or it "
                                               "paused for %d s)" % (REQUEST_DEADLINE_S,
                                                                     READ_TIMEOUT_S)}
            else:
                status, reply = answer(self.models, body,
                                       lambda: client_is_here(self.connection))
            del body
        finally:
            BODIES.release()
        if status is not None:
            self.reply_json(status, reply)

    def do_PUT(self):
        self.reply_json(405, {"error": "only GET and POST"}, {"Allow": "GET, POST"})

    do_DELETE = do_PATCH = do_PUT

    def reply_json(self, status, value, headers=None):
        self.reply(status, json.dumps(value).encode(), "application/json", headers)

    def reply(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # one short line per request, on stderr
        if not self.quiet:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), format % args))


class Server(http.server.ThreadingHTTPServer):
    """The standard library's threading server, with one line on stderr, not a traceback,
    for a request that fails (a client that hung up mid-reply, most often)."""
    quiet = False
    # The standard library listens with a queue of 5: a page's burst of requests beyond it
    # is refused by the kernel with a reset. The system's own limit holds many more.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, *args, **kwargs):
        self.answering = set()  # the threads answering a request now
        super().__init__(*args, **kwargs)
        self.connections = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request, client_address):
        """Serves the connection in a thread of its own, when one of MAX_CONNECTIONS is
        free; otherwise answers 503 at once and closes it."""
        if not self.connections.acquire(blocking=False):
            body = json.dumps({"error": "%d requests are being served; retry in a moment"
                                        % MAX_CONNECTIONS}).encode()
            try:
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: "
                                b"application/json\r\nContent-Length: %d\r\nRetry-After: 1"
                                b"\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        self.answering.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.answering.discard(threading.current_thread())
            self.connections.release()

    def server_close(self):
        """Stops listening. The program's end does not wait for the requests still being
        answered (command_line.end): one may be inside a TensorFlow session."""
        super().server_close()
        command_line.LEFT_RUNNING.extend(list(self.answering))

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not self.quiet:
            sys.stderr.write("draw.py: a request from %s failed: %s\n" % (
                client_address[0], "%s: %s" % (type(error).__name__, error)))


def serve(host, port, models, missing, quiet=False):
    """Makes the server (listening); its serve_forever() answers until shutdown().
    quiet: no line on stderr for each request. It answers requests for the host it listens
    on and the loopback names; listening on every interface (0.0.0.0), for any name."""
    hosts = None if host in ("0.0.0.0", "::", "") else {host.lower(), *LOOPBACK_NAMES}
    handler = type("BoundHandler", (Handler,), {"models": models, "missing": missing,
                                                "quiet": quiet, "hosts": hosts})
    try:
        server = Server((host, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UsageError("port %d on %s is in use: choose another with --port"
                                          % (port, host))
        raise UsageError("cannot listen on %s:%d: %s" % (host, port,
                                                                      e.strerror or e))
    server.daemon_threads = True
    server.quiet = quiet
    return server


def build_parser():
    parser = argparse.ArgumentParser(prog="draw.py", description=flags.description(__doc__),
                                     formatter_class=flags.HelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (0.0.0.0: every network interface)")
    parser.add_argument("--port", type=flags.number(int, lambda v: 0 < v < 65536,
                                                    "a port number from 1 to 65535"),
                        default=8000, help="the port to listen on")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        type=model_and_dir,
                        help="serve NAME (%s) from DIR, a run directory or a SavedModel, "
                             "instead of its newest run; may be given for each"
                             % ", ".join(lessons.CLASSIFIERS))
    return parser


def model_and_dir(text):
    """An argparse type: NAME=DIR."""
    name, _, directory = text.partition("=")
    if name not in lessons.CLASSIFIERS or not directory:
        raise argparse.ArgumentTypeError("%r is not NAME=DIR, NAME one of %s"
                                         % (text, ", ".join(lessons.CLASSIFIERS)))
    return name, directory


def main(argv=None):
    args = build_parser().parse_args(argv)
    models, missing = load_models(dict(args.model))
    if not models:
        raise UsageError("no trained model in %s: train one first, e.g. `python cnn_mnist.py`"
                         % rundirs.RUNS_DIR)
    server = serve(args.host, args.port, models, missing)
    for name, model in models.items():
        print("%s: %s" % (name, model.checkpoint))
    for name, command in missing.items():
        print("%s: not trained yet (`%s` trains it)" % (name, command))
    print("serving on http://%s:%d/ (Ctrl-C stops)" % (args.host, server.server_address[1]),
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    run_main(main, "draw.py", trains=False)
