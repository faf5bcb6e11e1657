"""The sheet in a photo of a sheet lying on a desk: what lies beyond its edges is not read.

A phone's photo of a page often shows the desk at its corners or along an edge. Read whole,
the desk's edges are taken for strokes, and the digits shrink to a blob beside them. So the
photo is looked at small first, and paper is what is as light as the page's lit part, or
in a shadow no darker than DESK_DARKER of it, and as grey (or as tinted) as that part. The
sheet is the largest such region with the ink on it (its holes), and a sheet seen from
above is convex: its visible part is a quadrilateral cut by the frame. Where that region is
convex and leaves some of the frame out (if only slivers at the corners), the photo is
cropped to it, and what lies beyond its edges is painted over with the nearest paper; so is
the paper in a shadow cast across the sheet's edge (the phone's) with no ink in it, as the
cropped shadow's edge would read as a stroke. Anything else (the page fills the frame; a
digit's thick stroke runs off the edge, so the paper around it is not convex; a desk as
light and as grey as the paper) is read as it is.

Written with scipy.ndimage (labels, holes, nearest paper) and scipy.spatial's convex hull:
the page is found by its colour and its shape, which OpenCV's contour and quadrilateral
search would also do, for a dependency of its own.
"""
import numpy as np
from scipy import ndimage, spatial

from tfmnist.photos.image_files import resize
from tfmnist.photos.morphology import box_blur

LOOK_SIZE = 256  # the longer side the sheet is looked for at
DESK_DARKER = 0.38  # of the lit paper's brightness: darker is no paper (a shadow is lighter)
SHADOWED = 0.75  # of the lit paper's brightness: darker paper lies in a shadow
DESK_TINT = 0.04  # a colour further than this from the paper's (max - min over max) is none
MIN_SHEET = 0.2  # of the frame: a smaller light region is no sheet to read inside
MAX_SHEET = 0.9995  # of the frame: a larger one is the page filling the frame (the desk
# in slivers at the corners is no less the desk: they would stretch the digit's box)
MIN_WRITING = 0.001  # of the frame: the ink written on a sheet, at least ...
INK_DARKER = 0.7  # ... this much darker than the lit paper
MAX_BITE = 3.5  # look pixels: the sheet's visible part is convex, to within this
MIN_INK_PIXELS = 4  # look pixels: a smaller hole in the paper is a speck, not ink
EDGE_MARGIN = 2  # look pixels taken off the sheet's edge, where paper and desk blend
PAPER_WINDOW = 8  # the paper's colour is averaged over an eighth of the sheet's shorter side
MAX_OUTPUT = 2048  # the longer side of the sheet's pixels passed on: the finest look needs less


def sheet_mask(pixels):
    """The sheet, as a mask [h, w] of the photo shrunk to LOOK_SIZE, where a sheet lies on
    something else in the photo; None where the page fills the frame or cannot be told from
    what lies around it."""
    if pixels.shape[2] < 3:
        return None  # grey: the desk's colour cannot help, and drawings are grey
    height, width = pixels.shape[:2]
    scale = LOOK_SIZE / max(height, width)
    if scale >= 1:
        small = pixels[..., :3]
    else:
        small = _resized(pixels[..., :3], max(1, round(height * scale)),
                         max(1, round(width * scale)))
    smooth = np.stack([box_blur(small[..., c]) for c in range(3)], axis=2)  # less grain
    brightness = smooth.mean(axis=2)
    tint = (smooth.max(axis=2) - smooth.min(axis=2)) / np.maximum(smooth.max(axis=2), 1.0)
    lit = np.percentile(brightness, 95)
    paper_tint = np.median(tint[brightness >= 0.9 * lit])
    paper = (brightness >= DESK_DARKER * lit) & (np.abs(tint - paper_tint) <= DESK_TINT)
    labels, count = ndimage.label(paper)
    if count == 0:
        return None
    largest = labels == 1 + np.argmax(ndimage.sum(paper, labels, range(1, count + 1)))
    sheet = ndimage.binary_fill_holes(largest)  # the ink on it is the sheet's
    share = sheet.mean()
    if not MIN_SHEET <= share <= MAX_SHEET:
        return None
    # Writing on it: holes in it as dark as ink (not the paper's grain).
    if (sheet & ~largest & (brightness < INK_DARKER * lit)).mean() < MIN_WRITING:
        return None
    # Convex: nothing bites into it deeper than a pixel or two, as a stroke running off the
    # frame would (however thin: it would be painted over). And the phone's shadow across
    # its edge is no part of it, where what is left is convex: the sheet with the shadow may
    # not be, where the paper in a dark shadow is ragged, but only beside the shadow.
    bites = _bites(sheet)
    lit_sheet = _out_of_shadows(sheet, largest, brightness < SHADOWED * lit)
    if lit_sheet is not None and not _bites(lit_sheet).any():
        beside_shadow = ndimage.binary_dilation(sheet & ~lit_sheet,
                                                iterations=int(2 * MAX_BITE))
        if (bites & ~beside_shadow).any():
            return None
        sheet = lit_sheet
    elif bites.any():
        return None
    return ndimage.binary_erosion(sheet, iterations=EDGE_MARGIN)


def _bites(sheet):
    """Where dents in a region [h, w] (bool) run deeper than MAX_BITE: the pixels of its
    convex hull farther than that from it."""
    points = np.column_stack(np.nonzero(sheet)).astype(np.float64)
    hull = spatial.Delaunay(points[spatial.ConvexHull(points).vertices])
    grid = np.indices(sheet.shape).reshape(2, -1).T
    in_hull = (hull.find_simplex(grid) >= 0).reshape(sheet.shape)
    return in_hull & (ndimage.distance_transform_edt(~sheet) > MAX_BITE)


def _out_of_shadows(sheet, paper, dark):
    """The sheet [h, w] (bool) less the shadows cast across its edge: the parts of its paper
    that are `dark`, reach its edge (or the frame's), and touch none of the ink written on
    it. None where there are none. Left in, a shadow's edge is cut short where the sheet is
    cropped, and read as a stroke (the shadow alone is too narrow to be told as one)."""
    labels, count = ndimage.label(paper & dark)
    if count == 0:
        return None
    outline = sheet & ~ndimage.binary_erosion(sheet, border_value=0)
    holes, holes_count = ndimage.label(sheet & ~paper)  # ink, and specks of the paper's grain
    sizes = ndimage.sum(holes > 0, holes, range(holes_count + 1))
    ink = sizes[holes] >= MIN_INK_PIXELS
    ink_nearby = ndimage.binary_dilation(ink, iterations=2)
    shadows = np.zeros_like(sheet)
    for index, piece in enumerate(ndimage.find_objects(labels), start=1):
        region = labels[piece] == index
        if (outline[piece] & region).any() and not (ink_nearby[piece] & region).any():
            shadows[piece] |= region
    if not shadows.any():
        return None
    rest = sheet & ~shadows
    labels, count = ndimage.label(rest)
    if count == 0:
        return None
    lit = labels == 1 + np.argmax(ndimage.sum(rest, labels, range(1, count + 1)))
    # A shadow across the middle parts the sheet: the part kept must hold all its ink.
    return lit if not (ink & ~lit).any() else None


def on_the_sheet(pixels):
    """The photo [h, w, channels] in 0..255 cropped to the sheet, what lies beyond the
    sheet's edges painted as its nearest paper, at most MAX_OUTPUT pixels on a side; the
    photo as it is where no sheet is found (sheet_mask())."""
    mask = sheet_mask(pixels)
    if mask is None or not mask.any():
        return pixels
    height, width = pixels.shape[:2]
    rows, cols = np.nonzero(mask)
    scale_y, scale_x = height / mask.shape[0], width / mask.shape[1]
    top, bottom = int(rows.min() * scale_y), int(np.ceil((rows.max() + 1) * scale_y))
    left, right = int(cols.min() * scale_x), int(np.ceil((cols.max() + 1) * scale_x))
    crop = pixels[top:bottom, left:right]
    shrink = min(1.0, MAX_OUTPUT / max(crop.shape[:2]))
    out_height, out_width = (max(1, round(crop.shape[0] * shrink)),
                             max(1, round(crop.shape[1] * shrink)))
    if shrink < 1:
        crop = _resized(crop, out_height, out_width)
    inside = mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    # Beyond the sheet, the paper nearest to it: the paper's colour in a wide window around
    # each pixel of the sheet (its mean over the window's share of the sheet: the ink in it
    # counts for little), found small, then brought to size.
    small = _resized(crop, *inside.shape)
    window = max(3, min(inside.shape) // PAPER_WINDOW)
    share = ndimage.uniform_filter(inside.astype(np.float32), window)
    known = inside & (share > 0.5)
    nearest = ndimage.distance_transform_edt(~known, return_distances=False,
                                             return_indices=True)
    paper = np.stack([ndimage.uniform_filter(small[..., c] * inside, window)
                      / np.maximum(share, 1e-6) for c in range(small.shape[2])],
                     axis=2)[nearest[0], nearest[1]]
    inside_big = resize(inside.astype(np.float32), out_height, out_width) > 0.99
    return np.where(inside_big[..., None], crop, _resized(paper, out_height, out_width))


def _resized(pixels, height, width):
    """An image [h, w, channels] resized channel by channel (image_files.resize)."""
    return np.stack([resize(pixels[..., c], height, width) for c in range(pixels.shape[2])],
                    axis=2)
