"""Image files in and out: reading a photo or drawing within bounds, writing 8-bit PNGs.

Pillow reads the formats: it parses each file's headers as its format defines them, so the
size of an image is known, and a huge one refused, before a pixel is decoded.
"""
import io
import math
import os
import re
import stat
import warnings

import numpy as np
from PIL import Image, ImageOps

from tfmnist import rundirs

MAX_FILE_BYTES = 50 << 20
MAX_PIXELS = 50_000_000  # a larger image is refused before it is decoded
# A larger image is reduced, by a whole factor, to at most REDUCED_PIXELS before its pixels
# become floats: a digit needs far fewer, and floats of 50 megapixels would be gigabytes.
MAX_WORKING_PIXELS = 16_000_000
REDUCED_PIXELS = 4_000_000
# How each format's files begin: to say "a damaged PNG" rather than "not an image".
SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP"}


class ImageError(Exception):
    """This file cannot be used as an image; the message says why."""


def read_image(path):
    """Decodes an image file into float32 [height, width, channels] in 0..255.

    channels is 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA). PNG, JPEG, GIF (its first
    frame), BMP, TIFF and WebP are read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO: no waiting
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise ImageError("not an image file: a pipe or a socket")
            # Bounded by what is read, not by the size the file system gives: a device
            # (/dev/urandom) says 0.
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ImageError("cannot read: %s" % (e.strerror or e))
    if len(data) > MAX_FILE_BYTES:
        raise ImageError("too large (over %d MB)" % (MAX_FILE_BYTES >> 20))
    return decode(data)


def decode(data):
    """Decodes the bytes of an image file, as read_image does."""
    if not data:
        raise ImageError("empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own cap is lower
        try:
            image = Image.open(io.BytesIO(data))  # reads the headers, not the pixels
        except Image.DecompressionBombError as e:
            pixels = re.search(r"\((\d+) pixels\)", str(e))
            raise ImageError("too large (%s pixels; at most %d megapixels)" % (
                pixels.group(1) if pixels else "too many", MAX_PIXELS // 1_000_000))
        except Exception as e:  # Pillow raises several kinds for what it cannot read
            kind = [name for start, name in SIGNATURES.items() if data.startswith(start)]
            if kind:
                detail = "" if "cannot identify" in str(e) else " (%s)" % e
                raise ImageError("cannot decode: a damaged %s file%s" % (kind[0], detail))
            raise ImageError("not an image file Pillow can read (PNG, JPEG, GIF, BMP, ...)")
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageError("too large (%dx%d pixels; at most %d megapixels)"
                             % (width, height, MAX_PIXELS // 1_000_000))
        if width * height == 0:
            raise ImageError("empty image (%dx%d pixels)" % (width, height))
        try:
            return _to_array(image)
        except ImageError:
            raise
        except Exception as e:  # truncated or corrupt data, in whichever codec
            raise ImageError("cannot decode: a damaged %s file (%s)" % (image.format, e))


def _to_array(image):
    """A Pillow image as float32 [height, width, channels] in 0..255, upright: a phone's
    photo is turned as its EXIF orientation says, as a photo viewer shows it. One of more
    than MAX_WORKING_PIXELS is reduced to at most REDUCED_PIXELS first."""
    width, height = image.size
    if width * height > MAX_WORKING_PIXELS:  # a JPEG can be decoded at a smaller scale
        factor = _reduction(width, height)
        image.draft(image.mode, (width // factor, height // factor))
    image.load()
    if image.mode in ("L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "F"):
        image = _reduced(image)  # before any copy of the whole: a CMYK TIFF's too
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float grey
        array = np.asarray(_reduced(image.convert("F")), np.float32)
        if not np.isfinite(array).all():
            raise ImageError("holds pixels that are not numbers (NaN or infinity)")
        peak = 255.0 if array.max() <= 255 else 65535.0
        return (array * (255.0 / peak))[..., None]
    transparent = "A" in image.getbands() or "transparency" in image.info
    if image.mode in ("1", "L", "LA", "La") or (image.mode in ("P", "PA") and _grey(image)):
        image = image.convert("LA" if transparent else "L")
    else:
        image = image.convert("RGBA" if transparent else "RGB")
    array = np.asarray(_reduced(image), np.float32)
    return array[..., None] if array.ndim == 2 else array


def _reduction(width, height):
    """The whole factor that brings width x height to at most REDUCED_PIXELS."""
    return math.ceil(math.sqrt(width * height / REDUCED_PIXELS))


def _reduced(image):
    """The image reduced (each pixel the mean of a block) to at most REDUCED_PIXELS, if it
    is larger than MAX_WORKING_PIXELS."""
    width, height = image.size
    if width * height <= MAX_WORKING_PIXELS:
        return image
    return image.reduce(_reduction(width, height))


def _grey(image):
    """True if a palette image uses only greys."""
    palette = np.asarray(image.getpalette() or [0, 0, 0], np.uint8).reshape(-1, 3)
    return bool((palette == palette[:, :1]).all())


def encode_png(image):
    """The PNG file (bytes) of a grey image [height, width] with values in [0, 1]."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def save_png(image, path):
    """Writes a grey image [height, width] in [0, 1] as an 8-bit PNG, atomically."""
    try:
        rundirs.write_atomically(path, encode_png(image))
    except OSError as e:
        raise ImageError("cannot write %s: %s" % (path, e.strerror or e))


def resize(image, height, width):
    """Resizes a float [h, w] array with an antialiased bilinear filter.

    Pillow's filter widens with the scale when it shrinks, so every source pixel counts:
    without that, shrinking a photo skips over its thin strokes.
    """
    resized = Image.fromarray(np.asarray(image, np.float32)).resize(
        (width, height), Image.BILINEAR)
    return np.asarray(resized, np.float32)
