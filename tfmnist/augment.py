"""What the training set is shown: each image moved a little, at random, every time it is
drawn, so that a network sees a new version of each digit every epoch (rnn_mnist.py,
cnn_mnist.py), and turned a little (cnn_mnist.py), as people's digits lean. MNIST's digits
lie in a 20x20 box with 4 pixels of margin around it."""
import numpy as np
from scipy import ndimage

from tfmnist.flags import number

IMAGE_SIZE = 28
# The flags' types: --max-shift, --max-turn.
pixel_shift = number(int, lambda v: 0 <= v <= 4,
                     "a whole number of pixels from 0 to 4 (the margin around MNIST's digits)")
turn_degrees = number(float, lambda v: 0 <= v <= 45, "a number of degrees from 0 to 45")


def shifted(images, max_shift, rng):
    """Each image moved by up to max_shift pixels up or down and left or right, at random.

    images: [batch, 784], as the data set gives them; rng: a NumPy Generator.
    """
    if max_shift == 0:
        return images
    batch_size = len(images)
    padded = np.zeros([batch_size, IMAGE_SIZE + 2 * max_shift, IMAGE_SIZE + 2 * max_shift],
                      images.dtype)
    padded[:, max_shift:-max_shift, max_shift:-max_shift] = images.reshape(
        batch_size, IMAGE_SIZE, IMAGE_SIZE)
    # Image k is cut out of its padded image from row down[k] and column right[k]: the
    # rows of all the images that start at the same row at once, then the columns likewise.
    down, right = rng.integers(0, 2 * max_shift + 1, size=(2, batch_size))
    rows_cut = np.empty([batch_size, IMAGE_SIZE, padded.shape[2]], images.dtype)
    for top in range(2 * max_shift + 1):
        rows_cut[down == top] = padded[down == top, top:top + IMAGE_SIZE]
    moved = np.empty([batch_size, IMAGE_SIZE, IMAGE_SIZE], images.dtype)
    for left in range(2 * max_shift + 1):
        moved[right == left] = rows_cut[right == left, :, left:left + IMAGE_SIZE]
    return moved.reshape(batch_size, -1)


def turned(images, max_degrees, rng):
    """Each image turned about its middle by up to max_degrees either way, at random.

    images: [batch, 784], as the data set gives them; rng: a NumPy Generator.
    """
    if max_degrees == 0:
        return images
    angles = rng.uniform(-max_degrees, max_degrees, size=len(images))
    return np.stack([
        ndimage.rotate(image, angle, reshape=False, order=1)  # bilinear, as large as it was
        for image, angle in zip(images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), angles)
    ]).reshape(len(images), -1)
