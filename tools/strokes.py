"""MNIST digits redrawn as a person draws them on draw.py's page: their skeletons traced
with the page's round pen, black on a white 280x280 canvas.

tools/benchmark.py draw-strokes sends such drawings through the page's own request path, to see
how the models read drawn digits beside the same digits as MNIST arrays.
"""
import io

import numpy as np
from PIL import Image, ImageDraw

from tfmnist.photos.morphology import NEIGHBOURS, skeleton

CANVAS_SIZE = 280  # the page's canvas
PEN_WIDTH = 20  # the page's pen (tfmnist/draw.html's PEN_WIDTH)


def drawn(digit, pen_width=PEN_WIDTH, threshold=0.5, canvas_size=CANVAS_SIZE):
    """A 28x28 MNIST digit in [0, 1] as the page's canvas would hold it traced by hand: each
    pair of touching skeleton pixels joined by a stroke of the pen, scaled up to the canvas.
    Returns the canvas as PNG bytes, as the page sends it."""
    bones = skeleton(np.reshape(digit, (28, 28)) > threshold)
    scale = canvas_size / 28.0
    canvas = Image.new("L", (canvas_size, canvas_size), 255)
    pen = ImageDraw.Draw(canvas)
    radius = pen_width / 2.0
    for row, col in zip(*np.nonzero(bones)):
        centre = ((col + 0.5) * scale, (row + 0.5) * scale)
        pen.ellipse([centre[0] - radius, centre[1] - radius, centre[0] + radius,
                     centre[1] + radius], fill=0)  # the round cap and joins
        for dr, dc in NEIGHBOURS[:4]:  # each link once
            r, c = row + dr, col + dc
            if not (0 <= r < 28 and 0 <= c < 28 and bones[r, c]):
                continue
            if dr and dc and (bones[row + dr, col] or bones[row, col + dc]):
                continue  # a corner: the two straight links draw it, without a triangle
            pen.line([centre, ((c + 0.5) * scale, (r + 0.5) * scale)], fill=0, width=pen_width)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()
