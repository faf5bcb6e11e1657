"""From a photo or drawing to ink: how much ink each pixel holds, on a zero background.

Dark ink on light paper is measured against the light falling on the paper, shadows and all
(reflectance()); the paper's grain and what is left of its uneven light are brought to zero
(remove_background()). Each digit's strokes, once a number is split into its digits, are
thickened to MNIST's width where they are far thinner (normalise_stroke_width()). See
docs/photos.md for why each step is there.
"""
import numpy as np
from scipy import fft, ndimage

from tfmnist.photos.image_files import ImageError, resize
from tfmnist.photos.morphology import box_blur, grey_opening, max_filter, skeleton
from tfmnist.photos.number_splitting import marks_box, pieces

WORK_SIZE = 256  # larger images are shrunk to this longer side first: plenty for one digit,
WORK_SHORT_SIDE = 96  # but a wide one (a row of digits) keeps this much on its shorter side
MIN_CONTRAST = 0.1  # ink this faint (a tenth of black-on-white) is no ink: a blank image
INK_FLOOR = 0.15  # of the darkest stroke: fainter is the paper's grain, not ink
SHADING_GRADIENT = 0.03  # log brightness per pixel: a gentler change is the light's, not ink
BORDER_PAPER = 90  # percentile of the border that is paper, to tell dark ink from light
# A border whose lighter part is this much lighter (in log brightness: 1.4 times) than its
# median lies mostly in a hard shadow: reflectance() keeps a hard edge's whole step (a
# shadow of 0.65 or darker: 0.43 or more), and leaves soft shadows at most 0.3 (measured).
HARD_SHADOW_STEP = 0.35
DARK_FLOOR = 1 / 64  # brightness added before the log, so black's log is finite
MNIST_STROKE = 0.13  # MNIST's median stroke width, over the digit's height ...
THIN_STROKE = 0.09  # ... and below its tenth percentile: a stroke this thin is thickened
# Ink found in a shrunk photo less tall than this (in work pixels) is looked at again,
# finer, and the photo cropped around it: a small digit, or a row of them, in a large photo.
LOOK_CLOSER_BELOW = 24
FINE_WORK_SIZE = 1024  # the finer look's longer side
CROP_MARGIN = 0.5  # of the ink's height, on each side of the crop
MIN_DIGIT_PIXELS = 4  # ink whose box is smaller than this on both sides is a speck
SHADOW_WINDOW = 1 / 6  # of the image's shorter side: wider than any digit's strokes
SHADOW_AREA = 0.1  # of the image: an even region this large is a shadow, not strokes
SHADOW_BORDER = 0.5  # ... and meets the image's border along this much of its shorter side
SHADOW_EVEN = 0.2  # ... and is even: most of its ink within this share of its median
# ... and encloses no paper: a thick marker's loops (an 8's, a 0's) do, a shadow does not
SHADOW_HOLES = 0.01  # (of the image)
BAND_SPAN = 0.9  # of a side: ink apart from the rest that runs along this much of it, ...
BAND_DEPTH = 0.25  # ... within this share of the image from it, is a band (border_bands())


def ink_strokes(pixels):
    """An image [h, w, channels] in 0..255 -> its strokes as ink in [0, 1], on a zero
    background, at most WORK_SIZE pixels on a side (work_size()).

    A photo larger than that whose ink is small there, or gone (a small digit in a large
    photo, or a row of them), is looked at again, finer, and cropped around its ink first.
    Ink that is only a speck is no digit: ImageError, as for a blank image.
    """
    try:
        strokes = remove_background(ink(pixels))
        strokes = np.where(border_bands(strokes), 0.0, strokes).astype(np.float32)
    except ImageError:
        strokes = None
    if max(pixels.shape[:2]) > work_size(pixels.shape) and (
            strokes is None or _ink_height(strokes) < LOOK_CLOSER_BELOW):
        crop = _around_ink(pixels)
        if crop is not None:
            return ink_strokes(crop)
    if strokes is None:
        raise ImageError("blank: no ink found")
    if _box_side(strokes) < MIN_DIGIT_PIXELS:
        raise ImageError("blank: only a speck of ink, too small to be a digit")
    return strokes


def border_bands(strokes):
    """Where the ink holds a band along a side of the image, apart from the rest of the ink:
    the edge of a shadow, of the desk or of the sheet, cut by the frame of a photo cropped
    close to its digits (too narrow for _large_even_regions() to tell it from strokes).
    Writing runs across the frame's sides, not along one from end to end; a line written
    under a number and cropped close is no digit either. Where all the ink is bands, none."""
    height, width = strokes.shape
    bands = np.zeros(strokes.shape, bool)
    found = pieces(strokes > 0)
    for rows, cols in found:
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        along_a_row = right - left + 1 >= BAND_SPAN * width and (
            top == 0 and bottom < BAND_DEPTH * height
            or bottom == height - 1 and top >= (1 - BAND_DEPTH) * height)
        along_a_column = bottom - top + 1 >= BAND_SPAN * height and (
            left == 0 and right < BAND_DEPTH * width
            or right == width - 1 and left >= (1 - BAND_DEPTH) * width)
        if along_a_row or along_a_column:
            bands[rows, cols] = True
    all_ink = sum(len(rows) for rows, _ in found)
    return bands if bands.sum() < all_ink else np.zeros_like(bands)


def _box_side(strokes):
    """The longer side of the box around the ink."""
    rows, cols = np.nonzero(strokes)
    return max(np.ptp(rows), np.ptp(cols)) + 1 if len(rows) else 0


def _ink_height(strokes):
    """The height of the box around the ink's marks: a digit's, or a row of digits'. Not of
    every non-zero pixel: faint traces all over the page would make a small row look tall,
    and it would not be looked at closer."""
    box = marks_box(strokes)
    return 0 if box is None else box[1] - box[0]


def work_size(shape):
    """The longer side an image [h, w, ...] is shrunk to at most: WORK_SIZE, or for a wide
    image, enough to keep WORK_SHORT_SIDE on its shorter side (up to FINE_WORK_SIZE)."""
    height, width = shape[:2]
    return int(min(max(WORK_SIZE, WORK_SHORT_SIDE * max(height, width) / min(height, width)),
                   FINE_WORK_SIZE))


def _around_ink(pixels):
    """The part of a large image around its ink, as a finer look (FINE_WORK_SIZE) finds it,
    with a margin; None when that finds no ink, or the ink fills most of the image."""
    try:
        fine = remove_background(ink(pixels, FINE_WORK_SIZE))
    except ImageError:
        return None
    box = marks_box(fine)  # the marks, not faint traces elsewhere on the page
    if box is None:
        return None
    top, bottom, left, right = box
    scale = max(pixels.shape[:2]) / max(fine.shape)
    margin = CROP_MARGIN * (bottom - top)
    top, bottom = [int(scale * v) for v in (top - margin, bottom + margin)]
    left, right = [int(scale * v) for v in (left - margin, right + margin)]
    top, left = max(top, 0), max(left, 0)
    crop = pixels[top:bottom, left:right]
    return crop if crop.size < 0.5 * pixels.size else None


def ink(pixels, longer_side=None):
    """How much ink each pixel holds, float [h, w] in [0, 1], from [h, w, channels] 0..255,
    shrunk to at most longer_side pixels on a side (default: work_size()).

    An alpha channel with any transparency is the ink itself (a drawing on a transparent
    background). Otherwise dark ink on light paper is measured against the paper's own
    light, shadows and all (see reflectance()); light ink on a dark ground (MNIST's own
    digits) is its grey level. Which of the two an image holds is told by its extremes: the
    ink lies farther from the paper's level than anything else does, the paper's level
    being that of the lighter part of the border.
    """
    longer_side = longer_side or work_size(pixels.shape)
    channels = pixels.shape[2]
    if channels in (2, 4) and pixels[..., -1].min() < 255:
        return _work_size(pixels[..., -1] / 255.0, longer_side)
    color = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    gray = color.mean(axis=2) if channels < 3 else color @ np.float32([0.299, 0.587, 0.114])
    gray = _work_size(gray / 255.0, longer_side)
    paper_relative = reflectance(gray)
    border_pixels = np.concatenate([paper_relative[0], paper_relative[-1],
                                    paper_relative[:, 0], paper_relative[:, -1]])
    # Told from the lighter part of the border, as a hard shadow may cover most of it.
    lit_paper = np.percentile(border_pixels, BORDER_PAPER)
    darkest, lightest = np.percentile(paper_relative, [0.5, 99.5]) - lit_paper
    if -darkest > lightest:  # dark ink: the share of the paper's light it takes away ...
        paper = np.median(border_pixels)
        if lit_paper - paper > HARD_SHADOW_STEP:  # ... of the lit paper's, not the shadow's
            paper = lit_paper
        return np.clip(1.0 - np.exp(paper_relative - paper), 0.0, 1.0)
    return gray


def _work_size(image, longer_side):
    """An image [h, w] shrunk to at most longer_side pixels on its longer side."""
    height, width = image.shape
    if max(height, width) <= longer_side:
        return np.asarray(image, np.float32)
    scale = longer_side / max(height, width)
    return resize(image, max(1, round(height * scale)), max(1, round(width * scale)))


def reflectance(gray):
    """The log of how much light each pixel reflects, [h, w], up to a constant: the
    brightness [h, w] in [0, 1] with the light falling on the paper taken out.

    Brightness is light times reflectance, so its log is their sum. Light changes gently,
    even at a shadow's edge; ink changes reflectance within a pixel or two. So the log's
    changes between neighbours steeper than SHADING_GRADIENT (and those a pixel beside
    them, an edge's tails) are kept as the ink's, the gentler ones dropped as the light's,
    and what is kept is integrated back into an image (a Poisson equation, solved with
    scipy's cosine transform).
    """
    log = np.log(gray + DARK_FLOOR)
    along_rows, along_cols = np.diff(log, axis=1), np.diff(log, axis=0)
    smooth = box_blur(log)  # the paper's grain is no edge: steepness is judged without it
    steep = np.zeros(log.shape, np.float32)
    steep[:-1, :-1] = np.hypot(np.diff(smooth, axis=1)[:-1],
                               np.diff(smooth, axis=0)[:, :-1]) > SHADING_GRADIENT
    steep = max_filter(steep, 3) > 0
    along_rows *= steep[:, :-1] & steep[:, 1:]
    along_cols *= steep[:-1] & steep[1:]
    divergence = np.zeros_like(log)
    divergence[:, :-1] += along_rows
    divergence[:, 1:] -= along_rows
    divergence[:-1] += along_cols
    divergence[1:] -= along_cols
    return _solve_poisson(divergence)


def _solve_poisson(divergence):
    """The image [h, w] whose Laplacian is `divergence`, with no change across the border
    (up to a constant, here zero mean): in the cosine transform's basis (DCT-II, the image
    mirrored at its border), the Laplacian divides each coefficient by its own eigenvalue."""
    height, width = divergence.shape
    laplacian = ((2 * np.cos(np.pi * np.arange(height) / height) - 2)[:, None]
                 + (2 * np.cos(np.pi * np.arange(width) / width) - 2)[None, :])
    laplacian[0, 0] = 1.0
    spectrum = fft.dctn(divergence, type=2) / laplacian
    spectrum[0, 0] = 0.0
    return fft.idctn(spectrum, type=2).astype(np.float32)


def normalise_stroke_width(strokes):
    """Thickens strokes far thinner than MNIST's to MNIST's width, relative to the digit.

    A ballpoint's line in a large photo is a hairline once the digit shrinks to 20 pixels,
    where MNIST's strokes are 2 to 3 pixels wide. The width is the ink's mass over the
    length of its skeleton; MNIST's median is 0.13 of the digit's height.
    """
    ink = strokes > 0.5
    rows, cols = np.nonzero(ink)
    if len(rows) == 0:
        return strokes
    box = np.ptp(rows) + 1  # the digits' height: a number in a row is as tall as a digit
    width = strokes.sum() / max(skeleton(ink).sum(), 1)
    if width >= THIN_STROKE * box:
        return strokes
    grow = int(round((MNIST_STROKE * box - width) / 2))  # pixels to add on each side
    return max_filter(strokes, 2 * grow + 1) if grow > 0 else strokes


def _large_even_regions(ink_map):
    """What of the ink map lies in large, even regions: a hard shadow's side of its edge.

    A shadow with a hard edge is an edge between two large, even regions, where ink is a
    thin stroke with paper on both sides. A grey opening with a window of SHADOW_WINDOW of
    the image keeps what is wider than that, thick strokes and a shadow alike; of it, a
    part larger than SHADOW_AREA of the image, even, that comes from beyond the frame (it
    meets the border along SHADOW_BORDER of the shorter side) is a shadow. Zero elsewhere.
    """
    window = max(3, int(SHADOW_WINDOW * min(ink_map.shape))) | 1
    wide = grey_opening(ink_map, window) > MIN_CONTRAST
    if wide.mean() < SHADOW_AREA:
        return np.zeros_like(ink_map)
    step = max(1, min(ink_map.shape) // 64)  # the regions are large: found on a coarse grid
    coarse = wide[::step, ::step]
    large = np.zeros(coarse.shape, bool)
    levels, level = ink_map[::step, ::step], 0.0
    inked = levels > MIN_CONTRAST  # the paper a piece encloses: holes beside it
    holes = ndimage.binary_fill_holes(inked) & ~inked
    hole_labels = ndimage.label(holes)[0]
    last_row, last_col = coarse.shape[0] - 1, coarse.shape[1] - 1
    for rows, cols in pieces(coarse):
        if len(rows) < SHADOW_AREA * coarse.size:
            continue
        # A shadow comes from beyond the frame (it meets the border), and its side of a
        # hard edge is even: a soft shadow's is not, and reflectance() has mostly taken
        # it out already.
        on_border = np.sum((rows == 0) | (rows == last_row) | (cols == 0) | (cols == last_col))
        low, middle, high = np.percentile(levels[rows, cols], [10, 50, 90])
        piece = np.zeros(coarse.shape, bool)
        piece[rows, cols] = True
        beside = ndimage.binary_dilation(piece, iterations=2) & holes
        enclosed = np.isin(hole_labels, np.unique(hole_labels[beside])).sum()
        if (on_border > SHADOW_BORDER * min(coarse.shape) and high - low < SHADOW_EVEN * middle
                and enclosed <= SHADOW_HOLES * coarse.size):
            large[rows, cols] = True
            level = max(level, middle)
    large = np.repeat(np.repeat(large, step, axis=0), step, axis=1)[:ink_map.shape[0],
                                                                    :ink_map.shape[1]]
    large = (max_filter(large.astype(np.float32), 2 * step + 1) > 0) & wide  # to the pixel
    # The opening misses the edge where it slopes into the image's border. Near the shadow
    # (within the window), what is no darker than the shadow is the shadow and its edge. A
    # stroke is darker: in the shadow it is measured from the shadow's level, beside it
    # from the paper's.
    shadow_like = ink_map < (1 + SHADOW_EVEN) * level
    near = max_filter(large.astype(np.float32), window) > 0
    return np.where(large, np.where(shadow_like, ink_map, level),
                    np.where(near & shadow_like, ink_map, 0.0)).astype(np.float32)


def remove_background(ink_map):
    """Brings the paper to zero: what is left of its uneven light, and its grain, are not ink.

    ink() has taken the light out of dark ink on paper; what it leaves (and the uneven
    ground of light ink on dark) is what a grey opening leaves: anything wider than a third
    of the image, which strokes are not. What stays above it is ink, less a floor above the
    paper's grain (median + 6 deviations, and at least INK_FLOOR of the darkest stroke: a
    single speck of grain left over would stretch the crop). Light multiplies: in a shadow,
    paper and ink are both darker, and the ink stands out less; so the ink is then measured
    against the paper's own light there, and rescaled so the darkest stroke is 1.
    """
    window = max(3, min(ink_map.shape) // 3) | 1  # odd, so the window has a centre
    background = np.maximum(grey_opening(ink_map, window), _large_even_regions(ink_map))
    strokes = np.clip(ink_map - background, 0.0, None)
    peak = strokes.max()
    if peak < MIN_CONTRAST:
        raise ImageError("blank: no ink found")
    median = np.median(strokes)
    noise = 1.4826 * np.median(np.abs(strokes - median))  # the grain's standard deviation
    light = np.maximum(1.0 - background, 0.1)  # the paper's light: 1 for white in full light
    strokes, grain = strokes / light, (median + 6 * noise) / light  # grain grows in shadow too
    peak = strokes.max()
    floor = np.minimum(np.maximum(grain, INK_FLOOR * peak), 0.5 * peak)
    return np.clip((strokes - floor) / (peak - floor), 0.0, 1.0)
