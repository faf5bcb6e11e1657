"""Measures the project: training figures and speed, and how well the CNN reads other digits.
The training scripts run beside their PyTorch peers; the CNN reads digits that are not arrays.

    python tools/benchmark.py train [softmax mlp cnn ...] [--torch-python PYTHON]
    python tools/benchmark.py paired cnn rnn --torch-python PYTHON [--rounds 5] [--batch-size N]
    python tools/benchmark.py classify-png 1000   # MNIST test digits as PNG files
    python tools/benchmark.py draw-strokes 1000   # ... redrawn as pen strokes on draw.py's page
    python tools/benchmark.py photos 200          # ... in simulated phone photos
    python tools/benchmark.py profile rnn --batch-size 128  # where a training step's time goes
    python tools/benchmark.py cluster softmax cnn   # alone, then 1 ps + 2 workers (cluster.py)

train runs each script as `python SCRIPT` in a fresh process, as the next numbered run in
runs/SCRIPT/, so the wall time includes TensorFlow's import, the data load and the
evaluation, as a user sees it; the figures come from the metrics.json the run writes. With
--torch-python, the PyTorch peers in ../shared/bench run in the same sitting: these machines
are shared and noisy, so only figures taken side by side compare.

The speed of these machines drifts by tens of percent over minutes, longer than one full
training run, so a peer run just after a script may meet another speed. paired compares
throughput alone: R rounds, each a short training run of the script (5 warm-up steps, then
60 timed ones, as the peers do) right beside a run of its peer; it prints the medians.

cluster runs each script alone, then as a cluster of 1 ps and 2 workers on this machine,
asynchronous and with --sync-replicas: the accuracy each reaches and what the runtime costs.

profile traces training steps of the LSTM (tf.RunOptions FULL_TRACE): the time of its ops
summed by type, and by part (forward, backward, the update), and how many run per step.
"""
import argparse
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TOOLS_DIR)
sys.path[:0] = [REPO_DIR, TOOLS_DIR]  # the project's modules, and photos.py and strokes.py

import input_data  # noqa: E402
from tfmnist import flags, rundirs  # noqa: E402
from tfmnist.command_line import run_main  # noqa: E402

# Each model: its script, and the flags that pick it (the defaults otherwise).
MODELS = {
    "softmax": ("softmax_mnist.py", []),
    "mlp": ("mlp_mnist.py", []),
    "mlp-eager": ("mlp_mnist.py", ["--eager"]),
    "mlp-batch-norm": ("mlp_mnist.py", ["--batch-norm"]),
    "mlp-mse": ("mlp_mnist.py", ["--loss", "mse"]),
    "cnn": ("cnn_mnist.py", []),
    "rnn": ("rnn_mnist.py", []),
    "autoencoder": ("autoencoder_mnist.py", []),
    "autoencoder-32": ("autoencoder_mnist.py", ["--code-size", "32"]),
}
SCRIPTS = {name: script for name, (script, _) in MODELS.items()}
PEERS = {"cnn": "torch_cnn.py", "rnn": "torch_lstm.py"}  # each script's peer in PEER_DIR
PEER_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "bench")


def default_batch_size(model):
    """The batch size a script trains with by default, from its own parser: its peer runs
    at the same."""
    script = importlib.import_module(SCRIPTS[model][:-len(".py")])
    return script.build_parser().get_default("batch_size")


def script_metrics(script, extra_args, run_dir):
    """Runs a training script in run_dir (new or empty); returns the figures it wrote to
    run_dir/metrics.json, or exits with its errors."""
    result = subprocess.run([sys.executable, os.path.join(REPO_DIR, script), *extra_args,
                             "--run-dir", run_dir], capture_output=True, text=True, cwd=REPO_DIR)
    if result.returncode != 0:
        sys.exit("benchmark.py: %s failed:\n%s" % (script, result.stderr.strip()))
    with open(os.path.join(run_dir, rundirs.METRICS_FILE)) as f:
        return json.load(f)


def run_script(script, extra_args):
    """Runs a training script as its next numbered run in runs/; returns (its test figure as
    text, wall seconds, training images/s)."""
    run_dir = rundirs.new_numbered(rundirs.script_runs(script))
    start = time.perf_counter()
    metrics = script_metrics(script, extra_args, run_dir)
    wall = time.perf_counter() - start
    if "test_accuracy" in metrics:
        figure = "%.2f%% accuracy" % (100 * metrics["test_accuracy"])
    else:
        figure = "%.4f reconstruction error" % metrics["test_reconstruction_error"]
    return figure, wall, metrics["train_images_per_s"]


def run_peer(python, peer, batch_size):
    """Runs a peer benchmark; returns its images/s, or None if it cannot run."""
    path = os.path.join(PEER_DIR, peer)
    result = subprocess.run([python, path, str(batch_size)], capture_output=True, text=True)
    match = re.search(r"([0-9]+) img/s", result.stdout)
    if result.returncode != 0 or not match:
        print("  (peer %s did not run: %s)" % (peer, (result.stderr.strip().splitlines()
                                                      or ["no output"])[-1]))
        return None
    return float(match.group(1))


def paired_throughput(model, torch_python, rounds, batch_size):
    """Alternates short runs of a script and of its peer at batch_size; returns (script,
    peer) images/s lists, one figure per round, each from the 60 steps after 5 warm-up
    steps."""
    peer = PEERS[model]
    script_rates, peer_rates = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as run_dir:
            metrics = script_metrics(SCRIPTS[model], [
                "--steps", "65", "--log-every", "5", "--validation-size", "0",
                "--batch-size", str(batch_size)], run_dir)
        # Progress every 5 steps, each with the images/s of its 5 steps.
        rates = [line["images_per_s"] for line in metrics["progress"] if line["step"] > 5]
        script_rates.append(len(rates) / sum(1 / rate for rate in rates))
        peer_rate = run_peer(torch_python, peer, batch_size)
        if peer_rate is None:
            sys.exit("benchmark.py: paired needs the peer to run")
        peer_rates.append(peer_rate)
        print("  %s %.0f, %s %.0f images/s" % (SCRIPTS[model], script_rates[-1], peer,
                                               peer_rate), flush=True)
    return script_rates, peer_rates


def test_digits(count, split="test"):
    """(images [count, 784], labels) of the first `count` MNIST digits of a split."""
    digits = getattr(input_data.read_data_sets(download=False), split)
    return digits.images[:count], digits.labels[:count]


def cnn_on_arrays(images, run_dir=None):
    """(the CNN's run directory, its answers for images [N, 784] as arrays); run_dir: the
    CNN's run (default: the newest in runs/cnn_mnist/ with a checkpoint)."""
    from tfmnist import classifiers

    run_dir = classifiers.run_dir_of("cnn", run_dir)
    return run_dir, classifiers.load("cnn", run_dir).probabilities(images).argmax(1)


def classify_png(count, run_dir=None):
    """The CNN's accuracy on the first `count` MNIST test digits written as PNG files, white
    on black as in MNIST and inverted, then read by classify.py's classify() as one digit
    each."""
    import classify
    from tfmnist.photos import image_files

    images, labels = test_digits(count)
    run_dir, on_arrays = cnn_on_arrays(images, run_dir)
    print("CNN on %d MNIST test digits: %.2f%% as arrays" % (count, 100 * (on_arrays == labels)
                                                            .mean()))
    with tempfile.TemporaryDirectory() as directory:
        for name, pixels in (("white on black", images), ("black on white", 1 - images)):
            paths = []
            for index, image in enumerate(pixels):
                paths.append(os.path.join(directory, "%05d.png" % index))
                image_files.save_png(image.reshape(28, 28), paths[-1])
            readings = classify.classify(paths, "cnn", run_dir, one_digit=True)
            predicted = np.array([-1 if isinstance(reading, str)
                                  else reading.probabilities[0].argmax()
                                  for reading in readings.values()])
            print("  as PNG files, %s, through classify.py: %.2f%% (the same answer as on the "
                  "arrays for %.2f%%)" % (name, 100 * (predicted == labels).mean(),
                                          100 * (predicted == on_arrays).mean()))
    return (predicted == labels).mean()


def draw_strokes(count, run_dir=None):
    """The CNN on the first `count` MNIST test digits redrawn as pen strokes on draw.py's
    canvas (strokes.py) and sent through the page's own request, beside the same digits as
    arrays."""
    import base64
    import threading
    import urllib.request

    import draw
    import strokes

    images, labels = test_digits(count)
    run_dir, on_arrays = cnn_on_arrays(images, run_dir)
    models = {"cnn": draw.load_model("cnn", run_dir)}
    server = draw.serve("127.0.0.1", 0, models, {}, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/classify" % server.server_address[1]
    drawn = []
    try:
        for image in images:
            body = json.dumps({"image": "data:image/png;base64," + base64.b64encode(
                strokes.drawn(image)).decode()}).encode()
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request) as response:
                drawn.append(json.load(response)["models"]["cnn"]["digit"])
    finally:
        server.shutdown()
        server.server_close()
    print("CNN (%s) on %d MNIST test digits: %.1f%% as arrays, %.1f%% redrawn as pen strokes "
          "on the page (pen %d px on %d px)" % (
              run_dir, count, 100 * (on_arrays == labels).mean(),
              100 * (np.array(drawn) == labels).mean(), strokes.PEN_WIDTH, strokes.CANVAS_SIZE))


def photo_accuracy(count, run_dir=None, split="test"):
    """The CNN on `count` simulated photos of each kind (photos.py) made from MNIST digits it
    never trained on, read through classify.py's preparation, beside the same digits as
    arrays."""
    import photos
    from tfmnist import classifiers
    from tfmnist.photos import image_files
    from tfmnist.photos.digits import prepare

    digits = getattr(input_data.read_data_sets(download=False), split)
    chosen = np.random.default_rng(0).choice(digits.num_examples, count, replace=False)
    arrays, labels = digits.images[chosen], digits.labels[chosen]
    run_dir, on_arrays = cnn_on_arrays(arrays, run_dir)
    predictor = classifiers.load("cnn", run_dir)  # as classify.py loads it
    print("CNN (%s) on %d %s digits: %.1f%% as arrays" % (run_dir, count, split,
                                                         100 * (on_arrays == labels).mean()))
    right = []
    for kind in photos.KINDS:
        prepared = []
        for jpeg in photos.render(kind, arrays):
            try:
                prepared.append(prepare(image_files.decode(jpeg), one_digit=True)[1][0])
            except image_files.ImageError:
                prepared.append(np.zeros((28, 28), np.float32))  # counted as wrong below
        predicted = predictor.probabilities(np.reshape(prepared, (count, 784))).argmax(1)
        right.append(predicted == labels)
        print("  %-14s %.1f%%" % (kind, 100 * right[-1].mean()), flush=True)
    # Numbers: the same digits, 2 to 4 a photo, and rows of 5 to 12 small ones, read
    # through classify's splitting.
    for kind, rendered in ((photos.NUMBER_KIND, photos.render_numbers(arrays)),
                           (photos.ROW_KIND, photos.render_rows(arrays)),
                           (photos.FAINT_ROW_KIND, photos.render_rows(arrays, faint=True))):
        right.append(numbers_read(kind, rendered, labels, predictor))
    # Sheets lying on desks, not filling the frame, beside the same photos cropped to the
    # sheet around the digits (which the first should read as well as).
    desks = photos.render_on_desks(arrays)
    right.append(numbers_read(photos.DESK_KIND, [(photo, shown) for (photo, _), shown in desks],
                              labels, predictor))
    numbers_read("  (cropped)", [(cropped, shown) for (_, cropped), shown in desks], labels,
                 predictor)
    print("  %-14s %.1f%%" % ("all photos", 100 * np.mean(right)))
    # 4s open at the top (photos.open_fours), in faint rows between the same digits: apart,
    # as no kind of photo above holds them.
    fours = photos.open_fours(count)
    mixed = np.stack([arrays, fours], axis=1).reshape(2 * count, 784)
    mixed_labels = np.stack([labels, np.full(count, 4, labels.dtype)], axis=1).reshape(-1)
    read = numbers_read("open 4s", photos.render_rows(mixed, faint=True), mixed_labels,
                        predictor, quiet=True)
    print("  %-14s %.1f%% of %d drawn 4s in faint rows between the digits above (%.1f%% as "
          "arrays)" % ("open 4s", 100 * read[1::2].mean(), count,
                       100 * (predictor.probabilities(fours).argmax(1) == 4).mean()))
    read = numbers_read("open 4s", photos.render_rows(mixed), mixed_labels, predictor,
                        quiet=True)
    print("  %-14s %.1f%% of them in rows written small, in a thin pen" % (
        "", 100 * read[1::2].mean()))
    # 8s in a thick felt marker (the marker kind), the test set's own: apart, as 1 in 10 of
    # the digits above is an 8.
    eights = digits.images[digits.labels == 8][:count]
    read = [prepare(image_files.decode(jpeg), one_digit=True)[1][0]
            for jpeg in photos.render("marker", eights)]
    print("  %-14s %.1f%% of %d test 8s, in a thick marker" % (
        "thick 8s", 100 * (predictor.probabilities(np.reshape(read, (-1, 784))).argmax(1)
                           == 8).mean(), len(eights)))
    print("a 4000x3000 JPEG prepared in %.1f s (bound: 10 s)" % large_photo_seconds())


def numbers_read(kind, rendered, labels, predictor, quiet=False):
    """Reads photos of numbers [(JPEG bytes, digits shown)] made from digits with `labels`
    in order; prints the share read (unless quiet) and returns which digits were read right.
    A digit is right when its photo splits into as many digits as it shows, and its own
    reads right: in place."""
    from tfmnist.photos import image_files
    from tfmnist.photos.digits import prepare

    numbers, start = [], 0  # (first digit's index, digits shown, the 28x28s read)
    for jpeg, shown in rendered:
        try:
            read = prepare(image_files.decode(jpeg))[1]  # classify.py's pipeline
        except image_files.ImageError:
            read = []
        numbers.append((start, shown, read))
        start += shown
    read = [digit for _, _, digits in numbers for digit in digits]
    predicted = predictor.probabilities(np.reshape(read, (len(read), 784))).argmax(1)
    digits_right, position = np.zeros(len(labels), bool), 0
    for start, shown, digits in numbers:
        if len(digits) == shown:
            digits_right[start:start + shown] = (predicted[position:position + shown]
                                                 == labels[start:start + shown])
        position += len(digits)
    if quiet:
        return digits_right
    print("  %-14s %.1f%% of the digits (%.1f%% of %d numbers read whole; %d split into the "
          "wrong count)" % (kind, 100 * digits_right.mean(),
                           100 * np.mean([digits_right[start:start + shown].all()
                                          for start, shown, _ in numbers]), len(numbers),
                           sum(len(digits) != shown for _, shown, digits in numbers)),
          flush=True)
    return digits_right


def large_photo_seconds():
    """How long classify.py's preparation takes for a 12-megapixel phone photo of a digit."""
    import io

    from PIL import Image, ImageDraw

    from tfmnist.photos import image_files
    from tfmnist.photos.digits import to_mnist

    photo = Image.new("L", (4000, 3000), 230)
    ImageDraw.Draw(photo).line([(1500, 700), (2500, 700), (1800, 2300)], fill=30, width=60)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    started = time.perf_counter()
    to_mnist(image_files.decode(buffer.getvalue()))
    return time.perf_counter() - started


def train(models, torch_python=None, script_args=()):
    """Runs each model's script with its defaults; prints the table of the README."""
    rows = []
    for model in models:
        script, model_flags = MODELS[model]
        command = " ".join([script, *model_flags])
        print("running %s ..." % command, flush=True)
        figure, wall, images_per_s = run_script(script, model_flags + list(script_args))
        peer = None
        if torch_python and model in PEERS:
            peer = run_peer(torch_python, PEERS[model], default_batch_size(model))
        rows.append((command, figure, wall, images_per_s, peer))

    print("\n| command | test figure | wall time | training images/s | PyTorch peer images/s |")
    print("| --- | --- | --- | --- | --- |")
    for command, figure, wall, images_per_s, peer in rows:
        print("| %s | %s | %.0f s | %.0f | %s |" % (
            command, figure, wall, images_per_s, "%.0f" % peer if peer else "-"))
    return rows


def paired(models, torch_python, rounds, batch_size=None):
    """Compares throughput with the peers over alternating rounds; prints the table."""
    rows = []
    for model in models:
        size = batch_size or default_batch_size(model)
        print("%d rounds of %s beside %s at batch %d ..." % (rounds, SCRIPTS[model],
                                                            PEERS[model], size), flush=True)
        rows.append((model, size, *paired_throughput(model, torch_python, rounds, size)))
    print("\n| script | batch | images/s, median (range) | peer images/s, median (range) "
          "| ratio of medians |")
    print("| --- | --- | --- | --- | --- |")
    for model, size, script_rates, peer_rates in rows:
        script_median, peer_median = (statistics.median(r) for r in (script_rates, peer_rates))
        print("| %s | %d | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f |" % (
            SCRIPTS[model], size, script_median, min(script_rates), max(script_rates),
            peer_median, min(peer_rates), max(peer_rates), script_median / peer_median))
    return rows


def cluster_runs(models, workers=2, script_args=()):
    """Each model alone, then through cluster.py, async and sync; prints the table."""
    rows = []
    for model in models:
        script, model_flags = MODELS[model]
        for mode, extra in (("alone", None), ("async", []), ("sync", ["--sync-replicas"])):
            print("%s %s ..." % (script, mode), flush=True)
            run_dir = rundirs.new_numbered(rundirs.script_runs(script))
            flags_given = [*model_flags, *script_args, "--run-dir", run_dir]
            command = [os.path.join(REPO_DIR, script), *flags_given]
            if extra is not None:
                command = [os.path.join(REPO_DIR, "cluster.py"), model.split("-")[0],
                           "--ps", "1", "--workers", str(workers), "--", *flags_given, *extra]
            start = time.perf_counter()
            result = subprocess.run([sys.executable, *command], capture_output=True, text=True,
                                    cwd=REPO_DIR)
            wall = time.perf_counter() - start
            if result.returncode != 0:
                sys.exit("benchmark.py: %s failed:\n%s" % (
                    " ".join(command), (result.stdout + result.stderr).strip()[-2000:]))
            with open(os.path.join(run_dir, rundirs.METRICS_FILE)) as f:
                metrics = json.load(f)
            rows.append((script, mode, metrics["test_accuracy"], metrics["global_step"], wall,
                         metrics.get("cluster_images_per_s", metrics["train_images_per_s"])))
    print("\n| script | how | test accuracy | steps | wall time | training images/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for script, mode, accuracy, steps, wall, images_per_s in rows:
        how = "alone" if mode == "alone" else "1 ps + %d workers, %s" % (workers, mode)
        print("| %s | %s | %.2f%% | %d | %.0f s | %.0f |" % (
            script, how, 100 * accuracy, steps, wall, images_per_s))
    return rows


def profile(model, batch_size, chains, steps=30, traced_steps=5):
    """Times and traces training steps of a script's graph (cnn: cnn_mnist.py's, with its
    dropout; rnn: rnn_mnist.py's) on random images; prints where the time goes. chains: as
    rnn_mnist.main() picks for the batch size, by default."""
    import collections
    from tfmnist.tf1 import tf

    batch_size = batch_size or default_batch_size(model)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.int64, [None])
        if model == "cnn":
            import cnn_mnist

            loss_op = cnn_mnist.loss(cnn_mnist.inference(x, keep_prob=0.5), y_)
            train_step, _ = cnn_mnist.training(loss_op, 1e-3, 10 ** 6)
            title = "cnn_mnist.py, batch %d" % batch_size
        else:
            import rnn_mnist

            chains = chains or rnn_mnist.chains_for(batch_size)
            loss_op = rnn_mnist.loss(rnn_mnist.inference(x, chains=chains), y_)
            train_step, _ = rnn_mnist.training(loss_op, 1e-3, 10 ** 6, 5.0)
            title = "rnn_mnist.py, batch %d in %d chain%s" % (batch_size, chains,
                                                               "s"[:chains - 1])
        rng = np.random.default_rng(0)
        feed = {x: rng.random((batch_size, 784), dtype=np.float32),
                y_: rng.integers(0, 10, batch_size)}
        config = flags.session_config(  # as the script
            argparse.Namespace(threads=0))
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(10):
                sess.run(train_step, feed)
            start = time.perf_counter()
            for _ in range(steps):
                sess.run(train_step, feed)
            step_ms = (time.perf_counter() - start) / steps * 1e3
            by_type, count, by_part = (collections.Counter() for _ in range(3))
            for _ in range(traced_steps):
                run_metadata = tf.RunMetadata()
                sess.run(train_step, feed, run_metadata=run_metadata,
                         options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE))
                for node in (node for device in run_metadata.step_stats.dev_stats
                             for node in device.node_stats):
                    if " = " not in node.timeline_label:  # _SOURCE and the like
                        continue
                    op_type = node.timeline_label.split(" = ")[1].split("(")[0]
                    ms = node.op_end_rel_micros / 1e3 / traced_steps
                    by_type[op_type] += ms
                    count[op_type] += 1 / traced_steps
                    by_part["backward" if node.node_name.startswith("gradients/") else
                            "update" if re.match(r"(Adam|clip|global_norm)", node.node_name)
                            else "forward"] += ms
    total = sum(by_type.values())
    print("%s: %.1f ms a step (%.0f images/s); %d ops a step"
          % (title, step_ms, batch_size / step_ms * 1e3, round(sum(count.values()))))
    print("op time summed over both threads, traced: %.1f ms (%s)" % (total, ", ".join(
        "%s %.1f" % part for part in by_part.most_common())))
    print("\n| op type | ms a step | share | ops a step |\n| --- | --- | --- | --- |")
    for op_type, ms in by_type.most_common(12):
        print("| %s | %.2f | %.0f%% | %d |" % (op_type, ms, 100 * ms / total,
                                            round(count[op_type])))


def build_parser():
    parser = argparse.ArgumentParser(prog="benchmark.py", description=flags.description(__doc__))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def python_with_torch(path):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise argparse.ArgumentTypeError("%r is not a Python interpreter one can run" % path)
        return path

    def model_names(known):
        def parse(name):
            if name not in known:
                raise argparse.ArgumentTypeError("%r is not one of %s" % (name, ", ".join(known)))
            return name
        return parse

    train_parser = commands.add_parser("train", help="run the training scripts with their "
                                                     "defaults: the README's table")
    train_parser.add_argument("models", nargs="*", metavar="MODEL", type=model_names(SCRIPTS),
                              help="which to run: %s (default: all)" % ", ".join(SCRIPTS))
    train_parser.add_argument("--torch-python", type=python_with_torch, default=None,
                              help="a Python with PyTorch, to run the peers in ../shared/bench")
    train_parser.add_argument("--script-args", default="",
                              help="extra flags for every script, e.g. '--epochs 1'")

    paired_parser = commands.add_parser("paired", help="training throughput beside the "
                                                       "PyTorch peers, in alternating rounds")
    paired_parser.add_argument("models", nargs="+", metavar="MODEL", type=model_names(PEERS),
                               help="which to compare: %s" % ", ".join(PEERS))
    paired_parser.add_argument("--torch-python", type=python_with_torch, required=True,
                               help="a Python with PyTorch, to run the peers in ../shared/bench")
    paired_parser.add_argument("--rounds", type=flags.positive_int, default=5,
                               help="alternating rounds of short runs")
    paired_parser.add_argument("--batch-size", type=flags.positive_int, default=None,
                               help="the batch size of both sides (default: the script's)")

    for name, what in (("classify-png", "MNIST test digits as PNG files, read by classify.py"),
                       ("draw-strokes", "MNIST test digits redrawn as pen strokes and sent "
                                        "through draw.py's page request"),
                       ("photos", "simulated photos of each kind (tools/photos.py), and the "
                                  "same digits written as numbers, 2 to 4 a photo")):
        command = commands.add_parser(name, help="the trained CNN on " + what)
        command.add_argument("count", type=flags.positive_int, metavar="N",
                             help="digits to read")
        command.add_argument("--run-dir", default=None,
                             help="the CNN's run (default: the newest in runs/cnn_mnist/)")
        if name == "photos":
            command.add_argument("--digits", choices=("test", "validation"), default="test",
                                 help="the digits to photograph (validation: to tune)")
    cluster_parser = commands.add_parser("cluster", help="each script alone, then as a "
                                                         "cluster of 1 ps and 2 workers")
    cluster_parser.add_argument("models", nargs="+", metavar="MODEL",
                                type=model_names(["softmax", "mlp", "cnn", "rnn"]),
                                help="which to run: softmax, mlp, cnn, rnn")
    cluster_parser.add_argument("--script-args", default="",
                                help="extra flags for every script, e.g. '--epochs 1'")
    profile_parser = commands.add_parser("profile", help="where a training step's time goes")
    profile_parser.add_argument("model", choices=("cnn", "rnn"),
                                help="the model: cnn or rnn (the LSTM)")
    profile_parser.add_argument("--batch-size", type=flags.positive_int, default=None,
                                help="default: the script's own")
    profile_parser.add_argument("--chains", type=flags.positive_int, default=None,
                                help="chains the batch is read in (default: as rnn_mnist.py "
                                     "picks for the batch size)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return train(args.models or list(SCRIPTS), args.torch_python, args.script_args.split())
    if args.command == "paired":
        return paired(args.models, args.torch_python, args.rounds, args.batch_size)
    if args.command == "classify-png":
        return classify_png(args.count, args.run_dir)
    if args.command == "draw-strokes":
        return draw_strokes(args.count, args.run_dir)
    if args.command == "profile":
        return profile(args.model, args.batch_size, args.chains)
    if args.command == "cluster":
        return cluster_runs(args.models, script_args=args.script_args.split())
    return photo_accuracy(args.count, args.run_dir, args.digits)


if __name__ == "__main__":
    run_main(main, sys.argv[0], trains=False)
