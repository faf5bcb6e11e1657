"""The pictures runs leave beside their checkpoints, drawn with matplotlib.

Figures are made with matplotlib's object interface and its Agg canvas, not pyplot: no
window, no global state, and a notebook's own plotting backend is left as it was. Each
function returns the PNG file's bytes, for the run directory and for TensorBoard alike.
"""
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def png_of(figure):
    """The PNG file (bytes) of a matplotlib Figure."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def grey_png(image):
    """The PNG file (bytes) of a grey image [height, width] with values in [0, 1]."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def smoothed(values, window):
    """The running mean of the last `window` values (fewer at the start)."""
    values = np.asarray(values, np.float64)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (sums[1:] - sums[starts]) / (np.arange(1, len(values) + 1) - starts)


def training_curves(losses, validations, metric, title, first_step=0):
    """The training loss of every step (and its running mean), beside the validation metric.

    Args:
      losses: the loss of each step trained, from step first_step + 1 on.
      validations: [{"step": s, metric: value}] at each validation.
      metric: the validation figure's name, e.g. "accuracy".
    """
    figure = Figure(figsize=(10, 3.8))
    steps = np.arange(first_step + 1, first_step + len(losses) + 1)
    loss_axes = figure.add_subplot(1, 2 if validations else 1, 1)
    loss_axes.plot(steps, losses, color="0.75", linewidth=0.6, label="each step")
    loss_axes.plot(steps, smoothed(losses, max(1, len(losses) // 50)), color="C0",
                   label="running mean")
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("training loss")
    if len(losses) and min(losses) > 0 and max(losses) / min(losses) > 30:
        loss_axes.set_yscale("log")
    loss_axes.legend()
    loss_axes.grid(alpha=0.3)
    if validations:
        axes = figure.add_subplot(1, 2, 2)
        axes.plot([v["step"] for v in validations], [v[metric] for v in validations], "o-",
                  color="C1")
        axes.set_xlabel("step")
        axes.set_ylabel("validation " + metric)
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    # Fixed margins, room for the labels of every run's curves: every run draws this, and
    # tight_layout, which draws the figure once more to measure it, took 40% of the time.
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.88, wspace=0.25)
    return png_of(figure)


def image_rows(rows, labels, title):
    """Rows of 28x28 images ([rows][n, 784] in [0, 1]), each row named by its label."""
    count = len(rows[0])
    figure = Figure(figsize=(count * 0.8, len(rows) * 0.9 + 0.4))
    for row, (images, label) in enumerate(zip(rows, labels)):
        for column, image in enumerate(images):
            axes = figure.add_subplot(len(rows), count, row * count + column + 1)
            axes.imshow(np.reshape(image, (28, 28)), cmap="gray", vmin=0, vmax=1)
            axes.set_xticks([])
            axes.set_yticks([])
            if column == 0:
                axes.set_ylabel(label, fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return png_of(figure)


def image_grid(images, title, captions=None, columns=8, signed=False):
    """Square images [n, height, width] in rows of `columns`, each over its caption: grey
    from 0 (black) to 1, or (signed: weights) blue below zero and red above, on one scale."""
    images = np.asarray(images)
    rows = max(1, -(-len(images) // columns))
    figure = Figure(figsize=(columns * 1.1, rows * (1.3 if captions else 1.1) + 0.5))
    limit = float(np.abs(images).max()) if images.size else 1.0
    for index, image in enumerate(images):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(image, cmap="RdBu_r" if signed else "gray",
                    vmin=-limit if signed else 0, vmax=limit if signed else 1)
        axes.set_xticks([])
        axes.set_yticks([])
        if captions:
            axes.set_xlabel(captions[index], fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return png_of(figure)


def misclassified(images, labels, logits, count=24):
    """The first `count` test digits whose top logit is not their label, each captioned
    with the answer and the label."""
    answers = np.argmax(logits, axis=1)
    wrong = np.flatnonzero(answers != labels)[:count]
    return image_grid(np.reshape(images[wrong], (-1, 28, 28)), "the first %d of the %d test "
                      "digits the model misreads" % (len(wrong), np.sum(answers != labels)),
                      ["%d, not %d" % (answers[i], labels[i]) for i in wrong])


def scatter_by_label(points, labels, title, x_label, y_label):
    """Points [n, 2] coloured by their digit label 0-9."""
    figure = Figure(figsize=(7, 6))
    axes = figure.add_subplot(1, 1, 1)
    drawn = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7,
                         vmin=-0.5, vmax=9.5)
    figure.colorbar(drawn, ax=axes, ticks=range(10), label="label")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    figure.tight_layout()
    return png_of(figure)


def histograms(columns, title, shade=None):
    """One row per layer: histograms of its values, one column per named set of them, all on
    one scale, so that their spreads compare at a glance.

    Args:
      columns: {name: [values of layer 1, values of layer 2, ...]}, every list as long.
      shade: (low, high, label), a band to mark on every histogram.
    """
    names = list(columns)
    layers = len(columns[names[0]])
    limit = max(np.percentile(np.abs(np.ravel(values)), 99.9)
                for column in columns.values() for values in column)
    bins = np.linspace(-limit, limit, 81)
    figure = Figure(figsize=(4.2 * len(names), 1.2 * layers + 1.0))
    for column, name in enumerate(names):
        for layer, values in enumerate(columns[name]):
            axes = figure.add_subplot(layers, len(names), layer * len(names) + column + 1)
            if shade:
                axes.axvspan(shade[0], shade[1], color="0.9",
                             label=shade[2] if layer == 0 and column == 0 else None)
            axes.hist(np.clip(np.ravel(values), -limit, limit), bins=bins, color="C%d" % column,
                      histtype="stepfilled")  # one shape, not 80 bars: twice as fast
            axes.text(0.98, 0.8, "std %.2f" % np.std(values), transform=axes.transAxes,
                      ha="right", fontsize=8)
            axes.set_yticks([])
            axes.tick_params(labelsize=7)
            if layer == 0:
                axes.set_title(name, fontsize=9)
                if shade and column == 0:
                    axes.legend(loc="upper left", fontsize=7)
            if column == 0:
                axes.set_ylabel("layer %d" % (layer + 1), fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return png_of(figure)


def curves(series, title, x_label, y_label, log_y=False, log_x=False, markers=False):
    """Several curves on one axes: {name: (x, y)}."""
    figure = Figure(figsize=(7, 4))
    axes = figure.add_subplot(1, 1, 1)
    for name, (x, y) in series.items():
        axes.plot(x, y, "o-" if markers else "-", label=name)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    if log_y:
        axes.set_yscale("log")
    if log_x:
        axes.set_xscale("log")
    axes.legend()
    axes.grid(alpha=0.3)
    axes.set_title(title)
    figure.tight_layout()
    return png_of(figure)


def descent(x, y, fits, paths, surface, title):
    """Gradient descent on two parameters: the data with each path's fitted curve, beside
    the cost surface (log scale contours) with each path the parameters took.

    Args:
      x, y: the data points.
      fits: the model's curve over x at each path's end.
      paths: [(a, b, cost)] per step, per path (rows past an overflow are left out).
      surface: (a grid, b grid, cost grid).
    """
    figure = Figure(figsize=(11, 4.4))
    data_axes = figure.add_subplot(1, 2, 1)
    data_axes.plot(x, y, ".", color="0.5", label="data")
    for index, (fit, path) in enumerate(zip(fits, paths)):
        data_axes.plot(x, fit, color="C%d" % index,
                       label="fit from a=%g, b=%g" % (path[0, 0], path[0, 1]))
    data_axes.set_xlabel("x")
    data_axes.set_ylabel("y")
    data_axes.legend(fontsize="small")
    data_axes.grid(alpha=0.3)
    cost_axes = figure.add_subplot(1, 2, 2)
    a_grid, b_grid, costs = surface
    contours = cost_axes.contourf(a_grid, b_grid, np.log10(np.maximum(costs, 1e-6)), 25,
                                  cmap="viridis")
    figure.colorbar(contours, ax=cost_axes, label="log10 of the cost (mean squared error)")
    for index, path in enumerate(paths):
        path = path[np.isfinite(path).all(axis=1)]
        cost_axes.plot(path[:, 0], path[:, 1], ".-", color="C%d" % index, markersize=3,
                       linewidth=1, label="path, %d steps" % (len(path) - 1))
        cost_axes.plot(*path[0, :2], "o", color="C%d" % index, markeredgecolor="white")
        cost_axes.plot(*path[-1, :2], "*", color="C%d" % index, markersize=12,
                       markeredgecolor="white")
    cost_axes.set_xlabel("a")
    cost_axes.set_ylabel("b")
    cost_axes.legend(fontsize="small", loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    return png_of(figure)
