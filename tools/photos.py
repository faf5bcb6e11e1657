"""A photo simulator: MNIST digits as people photograph what they wrote on paper.

Each kind renders a digit the way one kind of photo shows it, seeded, so the same digits
make the same photos. `tools/benchmark.py photos N` runs them through classify.py's preparation
and the CNN, to measure how well photos are read beside the same digits as arrays. Made from
digits the models never trained on: the validation digits to tune, the test digits to report.
"""
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import strokes
from tfmnist.photos import morphology


def _paper(size, rng, tint=(235, 235, 230), light=True, width=None):
    """An RGB sheet of paper [size, width or size, 3] in 0..255: grain, and light falling
    unevenly."""
    width = width or size
    rows, cols = np.mgrid[0:size, 0:width] / max(size, width)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * cols + np.sin(angle) * rows) * (rng.uniform(0.1, 0.3) if light
                                                                 else 0.0)
    sheet = np.float32(tint)[None, None] * (1 - gradient + gradient.mean())[..., None]
    sheet += rng.normal(0, 3, (size, width, 1))
    return sheet


def _shadow(sheet, rng):
    """A soft shadow across part of the sheet, as a hand or a phone casts."""
    size = sheet.shape[0]
    rows, cols = np.mgrid[0:size, 0:size]
    edge = rng.uniform(0.3, 0.7) * size
    angle = rng.uniform(0, 2 * np.pi)
    distance = np.cos(angle) * (cols - size / 2) + np.sin(angle) * (rows - size / 2) + size / 2
    darkness = rng.uniform(0.45, 0.7)
    shade = 1 - (1 - darkness) / (1 + np.exp((distance - edge) / (0.04 * size)))
    return sheet * shade[..., None]


def _ink_on(sheet, ink_map, colour):
    """Lays ink [size, size] in [0, 1] of an RGB colour on the sheet."""
    ink = np.clip(ink_map, 0, 1)[..., None]
    return sheet * (1 - ink) + np.float32(colour)[None, None] * ink


def _ink_from_strokes(digit, size, pen_width):
    """The digit's skeleton drawn with a pen of pen_width pixels on a size x size canvas."""
    canvas = np.asarray(Image.open(io.BytesIO(strokes.drawn(
        digit, pen_width=pen_width, canvas_size=size))), np.float32)
    return 1 - canvas / 255.0


def _ink_from_image(digit, size, thicken=0):
    """The digit itself scaled to size x size, thickened by a max filter of `thicken` px."""
    image = Image.fromarray(np.uint8(np.reshape(digit, (28, 28)) * 255)).resize(
        (size, size), Image.BILINEAR)
    if thicken:
        image = image.filter(ImageFilter.MaxFilter(2 * (thicken // 2) + 1))
    # Sharper edges than scaling gives: a pen's line has an edge, not a ramp 10 pixels wide.
    return np.clip((np.asarray(image, np.float32) / 255.0 - 0.25) * 2.5, 0.0, 1.0)


def _fine_pen(digit, size, pen_width):
    """The digit scaled to size x size, its strokes worn down to about pen_width pixels (a
    fine pen at a scale where MNIST's own strokes would be thick): worn from both sides, so
    a small loop stays a loop, and joined along their middle lines where wearing would
    break them."""
    ink = _ink_from_image(digit, size) > 0.5
    middle = morphology.skeleton(ink)
    width = ink.sum() / max(middle.sum(), 1)
    wear = int(max(0, width - pen_width) // 2)
    worn = -morphology.max_filter(-ink.astype(np.float32), 2 * wear + 1) > 0
    pen = morphology.max_filter(middle.astype(np.float32), pen_width) > 0
    return np.clip(1.5 * morphology.box_blur((worn | pen).astype(np.float32)), 0, 1)


def _photo(pixels, rng, rotate=True, quality=None, degrees=6):
    """The sheet as a phone's JPEG: turned by up to a few degrees, compressed.

    The frame is turned, not the sheet pasted into it: the turned image is cropped by a
    tenth on each side, so no corner shows what lies beyond the paper.
    """
    image = Image.fromarray(np.uint8(np.clip(pixels, 0, 255)))
    if rotate:
        width, height = image.size
        image = image.rotate(rng.uniform(-degrees, degrees), resample=Image.BILINEAR).crop(
            (width // 10, height // 10, width - width // 10, height - height // 10))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality or int(rng.integers(35, 90)))
    return buffer.getvalue()


def thin_pen(digit, rng):
    """A ballpoint: a 1-3 pixel line in a large photo, 300-600 pixels."""
    size = int(rng.integers(300, 601))
    ink = _ink_from_strokes(digit, size, int(rng.integers(1, 4)))
    return _photo(_ink_on(_paper(size, rng), ink, (40, 40, 50)), rng)


def marker(digit, rng):
    """A thick felt marker in a small photo of low contrast, 60-140 pixels."""
    size = int(rng.integers(60, 141))
    ink = _ink_from_strokes(digit, size, max(3, int(size * rng.uniform(0.08, 0.13))))
    paper = _paper(size, rng, tint=(200, 200, 195))
    return _photo(_ink_on(paper, ink * rng.uniform(0.45, 0.7), (60, 60, 70)), rng)


def shadowed(digit, rng):
    """Pencil on paper, half in a hand's shadow."""
    size = int(rng.integers(150, 400))
    ink = _ink_from_image(digit, size, thicken=int(size / 60))
    sheet = _shadow(_paper(size, rng), rng)
    return _photo(_ink_on(sheet, ink * rng.uniform(0.6, 0.9), (70, 70, 75)), rng)


def coloured(digit, rng):
    """Blue or red ink on tinted paper."""
    size = int(rng.integers(150, 400))
    ink = _ink_from_image(digit, size, thicken=int(size / 50))
    tint = [(240, 230, 170), (215, 235, 250), (250, 215, 220)][int(rng.integers(0, 3))]
    colour = [(30, 60, 170), (180, 30, 40), (20, 120, 60)][int(rng.integers(0, 3))]
    return _photo(_ink_on(_paper(size, rng, tint=tint), ink, colour), rng)


def squared_paper(digit, rng):
    """A digit on squared or lined paper: thin regular lines that are not the digit."""
    size = int(rng.integers(200, 450))
    sheet = _paper(size, rng)
    grid = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(grid)
    spacing = int(size * rng.uniform(0.08, 0.16))
    offset = int(rng.integers(0, spacing))
    for position in range(offset, size, spacing):
        pen.line([(0, position), (size, position)], fill=255, width=1)
        if rng.random() < 0.8 or position == offset:  # squared paper, now and then lined
            pen.line([(position, 0), (position, size)], fill=255, width=1)
    lines = np.asarray(grid, np.float32) / 255.0
    sheet = _ink_on(sheet, lines * 0.5, (120, 150, 210))
    ink = _ink_from_image(digit, size, thicken=int(size / 60))
    return _photo(_ink_on(sheet, ink, (30, 30, 40)), rng)


def _ink_columns(ink):
    """A digit's ink [h, w] cut to the columns it fills: the gaps between digits are the
    writer's, not the 28x28 boxes'."""
    columns = np.nonzero(ink.max(axis=0) > 0.1)[0]
    return ink[:, columns.min():columns.max() + 1] if len(columns) else ink


def _write_in_a_row(canvas, inks, gaps, top, left, height, jitter, rng):
    """Writes digits' inks on the canvas left to right from (top, left), each followed by its
    gap, and each a little higher or lower than `top`: by up to `jitter` of their height.
    The gaps keep them apart."""
    for ink, gap in zip(inks, gaps):
        row = top + int(height * rng.uniform(-jitter, jitter))
        canvas[row:row + ink.shape[0], left:left + ink.shape[1]] = ink
        left += ink.shape[1] + gap


def number(digits, rng):
    """A number: a few digits [n, 784] written in a row with a pen, a gap between each two
    of 0.12 to 0.35 of their height (digits that touch are not simulated), each a little
    higher or lower than the last, in a wide photo turned by up to 3 degrees."""
    height = int(rng.integers(60, 130))  # of each digit's 28x28 box: the digit is 5/7 of it
    inks = [_ink_columns(_ink_from_image(digit, height, thicken=int(height / 40)))
            for digit in digits]
    gaps = [int(height * rng.uniform(0.12, 0.35)) for _ in inks[1:]] + [0]
    margin = height // 2
    width = sum(ink.shape[1] for ink in inks) + sum(gaps) + 2 * margin
    canvas = np.zeros((height + 2 * margin, width), np.float32)
    _write_in_a_row(canvas, inks, gaps, margin, margin, height, 0.06, rng)
    sheet = _paper(canvas.shape[0], rng, width=canvas.shape[1])
    return _photo(_ink_on(sheet, canvas * rng.uniform(0.7, 1.0), (40, 40, 60)), rng, degrees=3)


def _slanted(ink, shear):
    """The ink [h, w] slanted by `shear` (columns moved per row, from the bottom row), wider
    by what the slant takes."""
    height, width = ink.shape
    extra = int(np.ceil(abs(shear) * height))
    image = Image.fromarray(np.uint8(np.clip(ink, 0, 1) * 255)).transform(
        (width + extra, height), Image.AFFINE,
        (1, shear, -shear * height if shear > 0 else 0, 0, 1, 0), resample=Image.BILINEAR)
    return np.asarray(image, np.float32) / 255.0


def _faint_traces(sheet_shape, digit_height, rng):
    """What else a page shows, too faint to be writing but not blank: specks of dust or
    graphite and short faint lines (a pencil's guide, the page beneath), scattered over the
    sheet at a twelfth to a quarter of the ink's darkness: a map [h, w] in [0, 1]."""
    height, width = sheet_shape
    traces = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(traces)
    for _ in range(int(rng.integers(60, 150))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        level = int(255 * rng.uniform(0.08, 0.25))
        if rng.random() < 0.5:
            radius = rng.uniform(0.5, 2.0)
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=level)
        else:
            length, angle = digit_height * rng.uniform(0.3, 2.0), rng.uniform(0, np.pi)
            pen.line([x, y, x + length * np.cos(angle), y + length * np.sin(angle)],
                     fill=level, width=1)
    return np.asarray(traces, np.float32) / 255.0


def row_of_digits(digits, rng, hard_shadow, faint=False):
    """A row of digits [n, 784] written small with a fine pen, in a large photo of the page:
    each digit 3 to 8% of the photo's height, its strokes 2 to 4 pixels wide, gaps of 0.15
    to 0.4 of its height; hard_shadow: the phone's own shadow across the bottom, its edge
    sharp (1 to 3 pixels) and clear of the digits. faint: as real photos of a fine pen show
    it: strokes 1 to 2 pixels wide, slanted by up to 18 degrees, on a page with faint
    traces all over it (_faint_traces)."""
    height = int(rng.integers(720, 1081))  # of the photo, which is 4:3 ...
    width = height * 4 // 3
    frame = 1.25  # ... once _photo() has cropped a tenth off each side of the frame
    sheet_height, sheet_width = int(height * frame), int(width * frame)
    digit_height = height * rng.uniform(0.03, 0.08)
    box = int(round(digit_height * 28 / 20))  # MNIST's digits are 20 of their box's 28 pixels
    pen_width = int(rng.integers(1, 3)) if faint else int(rng.integers(2, 5))
    inks = [_ink_columns(_fine_pen(digit, box, pen_width)) for digit in digits]
    if faint:
        slant = np.tan(np.radians(rng.uniform(-5, 18)))  # one writer's slant, mostly right
        inks = [_ink_columns(_slanted(ink, slant)) for ink in inks]
    gaps = [int(digit_height * rng.uniform(0.15, 0.4)) for _ in inks[1:]] + [0]
    row_width = sum(ink.shape[1] for ink in inks) + sum(gaps)
    canvas = np.zeros((sheet_height, sheet_width), np.float32)
    left = (sheet_width - row_width) // 2 + int(rng.uniform(-0.1, 0.1) * (width - row_width))
    row_top = int(sheet_height * 0.1 + height * rng.uniform(0.2, 0.45))
    _write_in_a_row(canvas, inks, gaps, row_top, left, digit_height, 0.08, rng)
    sheet = _paper(sheet_height, rng, width=sheet_width)
    if hard_shadow:
        rows, cols = np.mgrid[0:sheet_height, 0:sheet_width]
        slope = np.tan(np.radians(rng.uniform(-12, 12)))
        clear = row_top + box + digit_height * 0.5 + abs(slope) * sheet_width / 2
        edge = rng.uniform(clear, max(clear, sheet_height * 0.1 + height * 0.8))
        distance = rows - (edge + slope * (cols - sheet_width / 2))
        darkness = rng.uniform(0.4, 0.65)
        shade = 1 - (1 - darkness) / (1 + np.exp(np.clip(-distance / rng.uniform(0.5, 1.5),
                                                          -50, 50)))
        sheet = sheet * shade[..., None]
    ink = canvas * rng.uniform(0.75, 1.0)
    if faint:
        ink = np.maximum(ink, _faint_traces(canvas.shape, digit_height, rng))
    return _photo(_ink_on(sheet, ink, (35, 35, 55)), rng, degrees=3)


def _desk(height, width, rng):
    """What a sheet lies on, RGB [height, width, 3]: a dark desk, a light one, or wood, its
    grain in stripes that wander; light falling unevenly on it, and grain."""
    kind = int(rng.integers(0, 3))
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    if kind == 0:  # dark: a black or grey desk
        desk = np.full((height, width, 3), rng.uniform(25, 75), np.float32) * np.float32(
            [1.0, 0.98, 0.96])
    elif kind == 1:  # light: grey or beige, darker than the paper
        desk = np.full((height, width, 3), rng.uniform(145, 185), np.float32) * np.float32(
            [1.0, 0.97, 0.9])
    else:  # wood
        angle, period = rng.uniform(0, np.pi), rng.uniform(0.02, 0.06)
        along = np.cos(angle) * cols + np.sin(angle) * rows
        across = -np.sin(angle) * cols + np.cos(angle) * rows
        wander = 0.01 * np.sin(2 * np.pi * across / rng.uniform(0.2, 0.5))
        grain = 1 + 0.15 * np.sin(2 * np.pi * (along + wander) / period)
        desk = np.float32([160, 105, 60])[None, None] * rng.uniform(0.6, 1.2) * grain[..., None]
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0.05, 0.2) * (np.cos(angle) * cols + np.sin(angle) * rows - 0.5)
    return desk * light[..., None] + rng.normal(0, 3, (height, width, 1))


DESK_ROW_WIDTH = 0.6  # of the frame: a number wider than this is written smaller


def on_a_desk(digits, rng):
    """A sheet lying on a desk, photographed from above, the sheet not filling the frame:
    digits [n, 784] (one, or a number of 2 to 4) written with a pen, 18 to 32% of the
    photo's height (a number smaller where it would not fit the frame), the phone aimed at
    them: near the frame's middle, wherever the sheet lies. The sheet turned by up to 12
    degrees, so the desk shows at the corners, or moved, so that it shows along an edge, or
    both, one of its corners in the frame; half of the photos with a hard shadow across a
    side, clear of the digits. Returns (the photo, the same photo cropped to the sheet around
    the digits), JPEG files (bytes)."""
    height = int(rng.integers(420, 661))
    width = height * 4 // 3
    digit_height = int(height * rng.uniform(0.18, 0.32))
    gap_shares = rng.uniform(0.15, 0.35, len(digits) - 1)
    for _ in range(2):  # written smaller, once, where the number would not fit the frame
        box = int(round(digit_height * 28 / 20))
        inks = [_ink_columns(_ink_from_image(digit, box, thicken=int(box / 40)))
                for digit in digits]
        gaps = [int(digit_height * share) for share in gap_shares] + [0]
        row_width = sum(ink.shape[1] for ink in inks) + sum(gaps)
        if row_width <= DESK_ROW_WIDTH * width:
            break
        digit_height = int(digit_height * DESK_ROW_WIDTH * width / row_width)
    mode = int(rng.integers(0, 3))  # 0: turned, corners show; 1: moved, an edge; 2: both
    turn = rng.uniform(4, 12) * rng.choice([-1, 1]) if mode != 1 else rng.uniform(-3, 3)
    size = rng.uniform(1.0, 1.12) if mode == 0 else rng.uniform(1.05, 1.3)
    sheet_height, sheet_width = int(height * size), int(width * size)
    # The sheet's middle near the frame's; moved towards a side or a corner.
    shift = np.zeros(2)
    if mode != 0:
        direction = rng.uniform(0, 2 * np.pi) if mode == 2 else rng.integers(0, 4) * np.pi / 2
        reach = (size - 1) / 2 + rng.uniform(0.06, 0.18)  # the desk shown: 6 to 18%
        shift = reach * np.array([np.cos(direction) * width, np.sin(direction) * height])
    aim = np.array([rng.uniform(-0.05, 0.05) * width, rng.uniform(-0.03, 0.03) * height])
    # Where on the sheet the digits go to land there once it is turned (PIL turns it
    # counter-clockwise, about its middle) and moved.
    cos, sin = np.cos(np.radians(turn)), np.sin(np.radians(turn))
    on_sheet = np.array([[cos, -sin], [sin, cos]]) @ (aim - shift)
    canvas = np.zeros((sheet_height, sheet_width), np.float32)
    _write_in_a_row(canvas, inks, gaps, int(sheet_height / 2 + on_sheet[1] - box / 2),
                    int(sheet_width / 2 + on_sheet[0] - row_width / 2), digit_height, 0.05, rng)
    sheet = _ink_on(_paper(sheet_height, rng, width=sheet_width), canvas * rng.uniform(0.8, 1.0),
                    (35, 35, 50))
    rgba = np.concatenate([np.clip(sheet, 0, 255), np.full(canvas.shape + (1,), 255.0)], axis=2)
    turned = Image.fromarray(np.uint8(rgba), "RGBA").rotate(turn, resample=Image.BILINEAR,
                                                            expand=True)
    photo = Image.fromarray(np.uint8(np.clip(_desk(height, width, rng), 0, 255)))
    left = int(width / 2 + shift[0] - turned.width / 2)
    top = int(height / 2 + shift[1] - turned.height / 2)
    photo.paste(turned, (left, top), turned)
    pixels = np.asarray(photo, np.float32)
    middle_x, middle_y = width / 2 + aim[0], height / 2 + aim[1]
    if rng.random() < 0.5:  # the phone's shadow across the top or bottom, clear of the digits
        reach = abs(sin) * row_width / 2 + cos * 0.6 * box  # the turned row's, above its middle
        rows = np.arange(height)[:, None]
        edge = min(height * rng.uniform(0.12, 0.25), middle_y - reach - 0.03 * height,
                   height - middle_y - reach - 0.03 * height)
        distance = (edge - rows) if rng.random() < 0.5 else (rows - (height - edge))
        darkness = rng.uniform(0.45, 0.7)
        shade = 1 - (1 - darkness) / (1 + np.exp(np.clip(-distance / rng.uniform(0.5, 1.5),
                                                          -50, 50)))
        pixels = pixels * shade[..., None]
    quality = int(rng.integers(50, 90))
    # The same photo cropped to the sheet around the digits.
    half_width, half_height = row_width / 2 + 0.6 * box, 0.9 * box
    cropped = Image.fromarray(np.uint8(np.clip(pixels, 0, 255))).crop((
        max(0, int(middle_x - half_width)), max(0, int(middle_y - half_height)),
        min(width, int(middle_x + half_width)), min(height, int(middle_y + half_height))))
    return (_photo(pixels, rng, rotate=False, quality=quality),
            _photo(np.asarray(cropped, np.float32), rng, rotate=False, quality=quality))


def open_fours(count, seed=0):
    """4s written open at the top, as many people write them (like a Ч: a hook down from
    the top left, round into the stem at about half its height, and the stem from the top
    to the bottom): [count, 784] in [0, 1], as MNIST would have them, each in a 20x20 box in
    the middle of 28x28. MNIST's open 4s are mostly a stroke down and a bar across; this
    hook, its opening from half to almost all of the 4's width, is rarer there. Drawn, not
    taken from MNIST, as wide as MNIST's 4s are (ink 11 to 18 pixels wide, 5th to 95th
    percentile; MNIST's training 4s 11 to 20), with a pen of 1.8 to 3.2 of MNIST's pixels,
    slanted by -5 to 20 degrees, seeded."""
    rng = np.random.default_rng([seed, len(KINDS) + 3])
    scale = 4  # drawn 4 times as large, then shrunk: MNIST's grey edges
    fours = []
    for _ in range(count):
        image = Image.new("L", (28 * scale, 28 * scale), 0)
        height = 20 * scale
        width = height * rng.uniform(0.65, 0.95)
        left, top = (28 * scale - width) / 2, 4 * scale
        slant = np.tan(np.radians(rng.uniform(-5, 20)))

        def at(x, y):  # (x, y) in [0, 1] of the 4's box, slanted about its middle
            return left + x * width + slant * (0.5 - y) * height, top + y * height

        stem, meets = rng.uniform(0.75, 0.95), rng.uniform(0.45, 0.65)
        hook_top = rng.uniform(0.0, 0.3)  # the opening: stem - hook_top of the width
        hook = _curve(at(hook_top, rng.uniform(0, 0.15)),
                      at(hook_top + rng.uniform(-0.05, 0.1), meets + rng.uniform(0.05, 0.2)),
                      at(stem + rng.uniform(0, 0.15), meets - rng.uniform(0, 0.08)))
        stroke = _curve(at(stem, rng.uniform(0, 0.1)), at(stem + rng.uniform(-0.05, 0.05), 0.5),
                        at(stem - rng.uniform(0, 0.1), 1.0))
        pen = ImageDraw.Draw(image)
        pen_width = int(round(scale * rng.uniform(1.8, 3.2)))
        for line in (hook, stroke):
            pen.line(line, fill=255, width=pen_width, joint="curve")
        small = np.asarray(image.resize((28, 28), Image.BOX), np.float32) / 255.0
        fours.append(np.clip(1.3 * small, 0.0, 1.0).reshape(784))
    return np.array(fours)


def _curve(start, bend, end, points=20):
    """A quadratic Bezier curve from start to end, drawn towards bend: [(x, y)]."""
    t = np.linspace(0, 1, points)[:, None]
    start, bend, end = np.array(start), np.array(bend), np.array(end)
    curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * bend + t ** 2 * end
    return [tuple(point) for point in curve]


KINDS = {"thin pen": thin_pen, "marker": marker, "shadow": shadowed,
         "coloured ink": coloured, "squared paper": squared_paper}
NUMBER_KIND = "numbers"  # several digits a photo: see render_numbers()
ROW_KIND = "rows, small"  # 5 to 12 small digits in a large photo: see render_rows()
FAINT_ROW_KIND = "rows, faint"  # the same, thin, slanted, with faint traces on the page
DESK_KIND = "sheet on a desk"  # a digit or a number on a sheet not filling the frame


def render(kind, digits, seed=0):
    """JPEG files (bytes) of `digits` [N, 784] as photos of one kind, seeded."""
    rng = np.random.default_rng([seed, list(KINDS).index(kind)])
    return [KINDS[kind](digit, rng) for digit in digits]


def render_numbers(digits, seed=0):
    """Photos of numbers written in a row, made from `digits` [N, 784] in order, 2 to 4 of
    them a photo: a list of (JPEG bytes, how many digits it shows)."""
    rng = np.random.default_rng([seed, len(KINDS)])
    return _numbers_in_photos(digits, rng, 2, 4, lambda shown, _: number(shown, rng))


def render_rows(digits, seed=0, faint=False):
    """Photos of rows of small digits written with a fine pen, made from `digits` [N, 784]
    in order, 5 to 12 of them a photo, every other photo with a hard shadow: a list of
    (JPEG bytes, how many digits it shows). faint: see row_of_digits()."""
    rng = np.random.default_rng([seed, len(KINDS) + (2 if faint else 1)])
    return _numbers_in_photos(digits, rng, 5, 12, lambda shown, index: row_of_digits(
        shown, rng, hard_shadow=index % 2 == 1, faint=faint))


def render_on_desks(digits, seed=0):
    """Photos of sheets on desks (on_a_desk()), made from `digits` [N, 784] in order, one
    digit a photo or (every third photo) a number of 2 to 4: a list of ((the photo, the
    same cropped to the sheet around the digits), how many digits it shows)."""
    rng = np.random.default_rng([seed, len(KINDS) + 4])
    photos, start, index = [], 0, 0
    while start < len(digits):
        count = min(int(rng.integers(2, 5)) if index % 3 == 2 else 1, len(digits) - start)
        photos.append((on_a_desk(digits[start:start + count], rng), count))
        start, index = start + count, index + 1
    return photos


def _numbers_in_photos(digits, rng, fewest, most, photo_of):
    """The digits [N, 784] in order, fewest to most a photo, each photo made by
    photo_of(its digits, its index): a list of (JPEG bytes, how many digits it shows)."""
    photos, start = [], 0
    while start < len(digits):
        count = min(int(rng.integers(fewest, most + 1)), len(digits) - start)
        photos.append((photo_of(digits[start:start + count], len(photos)), count))
        start += count
    return photos
