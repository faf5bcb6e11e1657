"""Runs the training scripts with their defaults: test figure, wall time, images per second.

These are the figures of the README's tables.

Each script runs as `python SCRIPT` in a fresh process, as the next numbered run in
runs/SCRIPT/, so the wall time includes TensorFlow's import, the data load and the
evaluation, as a user sees it; the figures come from the metrics.json the run writes. With
--torch-python, the PyTorch peers in ../shared/bench run in the same sitting: these machines
are shared and noisy, so only figures taken side by side compare.

    python benchmark.py [softmax mlp cnn ...] [--torch-python /tmp/peer-torch/bin/python]
    python benchmark.py cnn rnn --torch-python PYTHON --paired 5   # throughput only
    python benchmark.py --classify-png 1000   # the trained CNN on MNIST digits as PNG files

The speed of these machines drifts by tens of percent over minutes, longer than one full
training run, so a peer run just after a script may meet another speed. --paired R compares
throughput alone: R rounds, each a short training run of the script (5 warm-up steps, then
60 timed ones, as the peers do) right beside a run of its peer; it prints the medians.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import rundir

REPO_DIR = os.path.dirname(os.path.abspath(__file__))
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
# The peer of each script, and the batch size to run it at (the script's default).
PEERS = {"cnn": ("torch_cnn.py", 100), "rnn": ("torch_lstm.py", 256)}
PEER_DIR = os.path.join(os.path.dirname(REPO_DIR), "shared", "bench")


def script_metrics(script, extra_args, run_dir):
    """Runs a training script in run_dir (new or empty); returns the figures it wrote to
    run_dir/metrics.json, or exits with its errors."""
    result = subprocess.run([sys.executable, os.path.join(REPO_DIR, script), *extra_args,
                             "--run-dir", run_dir], capture_output=True, text=True, cwd=REPO_DIR)
    if result.returncode != 0:
        sys.exit("benchmark.py: %s failed:\n%s" % (script, result.stderr.strip()))
    with open(os.path.join(run_dir, rundir.METRICS_FILE)) as f:
        return json.load(f)


def run_script(script, extra_args):
    """Runs a training script as its next numbered run in runs/; returns (its test figure as
    text, wall seconds, training images/s)."""
    run_dir = rundir.new_numbered(rundir.script_runs(script))
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


def paired_throughput(model, torch_python, rounds):
    """Alternates short runs of a script and of its peer; returns (script, peer) images/s
    lists, one figure per round, each from the 60 steps after 5 warm-up steps."""
    peer, batch_size = PEERS[model]
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
            sys.exit("benchmark.py: --paired needs the peer to run")
        peer_rates.append(peer_rate)
        print("  %s %.0f, %s %.0f images/s" % (SCRIPTS[model], script_rates[-1], peer,
                                               peer_rate), flush=True)
    return script_rates, peer_rates


def cnn_on_arrays(images, run_dir=None):
    """(the CNN's run directory, its answers for images [N, 784] as arrays); run_dir: the
    CNN's run (default: the newest in runs/cnn_mnist/ with a checkpoint)."""
    import classify  # TensorFlow, only for the modes that ask the CNN
    import cnn_mnist
    import mnist_common

    run_dir = classify.model_run_dir("cnn", run_dir)
    return run_dir, mnist_common.predict(cnn_mnist.inference, run_dir, images).argmax(1)


def classify_png(count, run_dir=None):
    """The CNN's accuracy on the first `count` MNIST test digits written as PNG files, white
    on black as in MNIST and inverted, then read back through classify.py.

    run_dir: the CNN's run (default: the newest in runs/cnn_mnist/ with a checkpoint).
    """
    import images as image_files
    import input_data

    test = input_data.read_data_sets(download=False).test
    images, labels = test.images[:count], test.labels[:count]
    run_dir, on_arrays = cnn_on_arrays(images, run_dir)
    print("CNN on %d MNIST test digits: %.2f%% as arrays" % (count, 100 * (on_arrays == labels)
                                                            .mean()))
    with tempfile.TemporaryDirectory() as directory:
        for name, pixels in (("white on black", images), ("black on white", 1 - images)):
            paths = []
            for index, image in enumerate(pixels):
                paths.append(os.path.join(directory, "%05d.png" % index))
                image_files.save_png(image.reshape(28, 28), paths[-1])
            result = subprocess.run([sys.executable, os.path.join(REPO_DIR, "classify.py"),
                                     "--run-dir", run_dir, *paths],
                                    capture_output=True, text=True, cwd=REPO_DIR)
            predicted = {line.split(": ")[0]: int(line.split(": ")[1].split()[0])
                         for line in result.stdout.splitlines()}
            correct = sum(predicted.get(path) == label for path, label in zip(paths, labels))
            agree = sum(predicted.get(path) == p for path, p in zip(paths, on_arrays))
            print("  as PNG files, %s, through classify.py: %.2f%% (the same answer as on the "
                  "arrays for %.2f%%)" % (name, 100 * correct / count, 100 * agree / count))


def draw_strokes(count, run_dir=None):
    """The CNN on the first `count` MNIST test digits redrawn as pen strokes on draw.py's
    canvas (strokes.py) and sent through the page's own request, beside the same digits as
    arrays."""
    import base64
    import threading
    import urllib.request

    import cnn_mnist
    import draw
    import input_data
    import strokes

    test = input_data.read_data_sets(download=False).test
    images, labels = test.images[:count], test.labels[:count]
    run_dir, on_arrays = cnn_on_arrays(images, run_dir)
    server = draw.serve("127.0.0.1", 0, {"cnn": draw.Model("cnn", cnn_mnist, run_dir)}, {},
                        quiet=True)
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
    import classify
    import cnn_mnist
    import images as image_files
    import input_data
    import mnist_common
    import photos

    digits = getattr(input_data.read_data_sets(download=False), split)
    chosen = np.random.default_rng(0).choice(digits.num_examples, count, replace=False)
    arrays, labels = digits.images[chosen], digits.labels[chosen]
    run_dir, on_arrays = cnn_on_arrays(arrays, run_dir)
    print("CNN (%s) on %d %s digits: %.1f%% as arrays" % (run_dir, count, split,
                                                         100 * (on_arrays == labels).mean()))
    right = []
    for kind in photos.KINDS:
        prepared = []
        for jpeg in photos.render(kind, arrays):
            try:
                prepared.append(classify.to_mnist(image_files.decode(jpeg)))
            except image_files.ImageError:
                prepared.append(np.zeros((28, 28), np.float32))  # counted as wrong below
        predicted = mnist_common.predict(cnn_mnist.inference, run_dir,
                                         np.reshape(prepared, (count, 784))).argmax(1)
        right.append(predicted == labels)
        print("  %-14s %.1f%%" % (kind, 100 * right[-1].mean()), flush=True)
    # Numbers: the same digits, 2 to 4 a photo, read through classify's splitting. A digit
    # is right when its photo splits into as many digits as it shows and its own reads right.
    numbers, start = [], 0  # (first digit's index, digits shown, the 28x28s read)
    for jpeg, shown in photos.render_numbers(arrays):
        try:
            read = classify.to_mnist_digits(image_files.decode(jpeg))
        except image_files.ImageError:
            read = []
        numbers.append((start, shown, read))
        start += shown
    read = [digit for _, _, digits in numbers for digit in digits]
    predicted = mnist_common.predict(cnn_mnist.inference, run_dir,
                                     np.reshape(read, (len(read), 784))).argmax(1)
    digits_right, position = np.zeros(count, bool), 0
    for start, shown, digits in numbers:
        if len(digits) == shown:
            digits_right[start:start + shown] = (predicted[position:position + shown]
                                                 == labels[start:start + shown])
        position += len(digits)
    right.append(digits_right)
    print("  %-14s %.1f%% of the digits (%.1f%% of %d numbers read whole; %d split into the "
          "wrong count)" % (photos.NUMBER_KIND, 100 * digits_right.mean(),
                           100 * np.mean([digits_right[start:start + shown].all()
                                          for start, shown, _ in numbers]), len(numbers),
                           sum(len(digits) != shown for _, shown, digits in numbers)))
    print("  %-14s %.1f%%" % ("all photos", 100 * np.mean(right)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help="which scripts to run: %s (default: all)" % ", ".join(SCRIPTS))
    parser.add_argument("--torch-python", default=None,
                        help="a Python with PyTorch, to run the peers in ../shared/bench")
    parser.add_argument("--script-args", default="",
                        help="extra flags for every script, e.g. '--epochs 1'")
    parser.add_argument("--classify-png", type=int, metavar="N", default=None,
                        help="instead: classify the first N MNIST test digits as PNG files "
                             "with the trained CNN (the newest run in runs/cnn_mnist/, or "
                             "--run-dir)")
    parser.add_argument("--draw-strokes", type=int, metavar="N", default=None,
                        help="instead: the trained CNN on the first N MNIST test digits "
                             "redrawn as pen strokes and sent through draw.py's page request")
    parser.add_argument("--photos", type=int, metavar="N", default=None,
                        help="instead: the trained CNN on N simulated photos of each kind "
                             "(photos.py) of test digits, and on the same N digits written "
                             "as numbers, 2 to 4 a photo")
    parser.add_argument("--photo-digits", choices=("test", "validation"), default="test",
                        help="with --photos: the digits to photograph (validation: to tune)")
    parser.add_argument("--run-dir", default=None,
                        help="with --classify-png, --draw-strokes or --photos: the CNN run")
    parser.add_argument("--paired", type=int, metavar="R", default=None,
                        help="instead: compare training throughput with the PyTorch peers "
                             "over R alternating rounds of short runs (needs --torch-python)")
    args = parser.parse_args(argv)
    if args.paired is not None and (args.paired < 1 or not args.torch_python):
        parser.error("--paired needs a number of rounds of at least 1, and --torch-python")
    if args.classify_png:
        return classify_png(args.classify_png, args.run_dir)
    if args.draw_strokes:
        return draw_strokes(args.draw_strokes, args.run_dir)
    if args.photos:
        return photo_accuracy(args.photos, args.run_dir, args.photo_digits)
    for model in args.models:
        if model not in SCRIPTS:
            parser.error("unknown model %r: choose from %s" % (model, ", ".join(SCRIPTS)))
    models = args.models or list(SCRIPTS)

    if args.paired:
        if not any(model in PEERS for model in models):
            parser.error("--paired: none of %s has a PyTorch peer" % ", ".join(models))
        rows = []
        for model in [model for model in models if model in PEERS]:
            print("%d rounds of %s beside %s ..." % (args.paired, SCRIPTS[model],
                                                    PEERS[model][0]), flush=True)
            rows.append((model, *paired_throughput(model, args.torch_python, args.paired)))
        print("\n| script | batch | images/s, median (range) | peer images/s, median (range) "
              "| ratio of medians |")
        print("| --- | --- | --- | --- | --- |")
        for model, script_rates, peer_rates in rows:
            script_median, peer_median = (statistics.median(r) for r in (script_rates,
                                                                           peer_rates))
            print("| %s | %d | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f |" % (
                SCRIPTS[model], PEERS[model][1], script_median, min(script_rates),
                max(script_rates), peer_median, min(peer_rates), max(peer_rates),
                script_median / peer_median))
        return rows

    rows = []
    for model in models:
        script, flags = MODELS[model]
        command = " ".join([script, *flags])
        print("running %s ..." % command, flush=True)
        figure, wall, images_per_s = run_script(script, flags + args.script_args.split())
        peer = None
        if args.torch_python and model in PEERS:
            peer = run_peer(args.torch_python, *PEERS[model])
        rows.append((command, figure, wall, images_per_s, peer))

    print("\n| command | test figure | wall time | training images/s | PyTorch peer images/s |")
    print("| --- | --- | --- | --- | --- |")
    for command, figure, wall, images_per_s, peer in rows:
        print("| %s | %s | %.0f s | %.0f | %s |" % (
            command, figure, wall, images_per_s, "%.0f" % peer if peer else "-"))
    return rows


if __name__ == "__main__":
    main()
