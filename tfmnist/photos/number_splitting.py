"""A number written in a row, split into its digits: the ink's pieces grouped by columns."""
import numpy as np
from scipy import ndimage

MARK = 0.3  # ink above this is a stroke's ...
JOINED = 0.2  # ... and fainter ink above this, joined to it, the same stroke's
SPECK = 0.03  # a piece of ink this small beside the largest is a speck, not a stroke
DIGIT_GAP = 0.08  # pieces closer than this, in the number's height, are one digit
TOUCHING_WIDTH = 1.0  # ink twice the number's height wide or more is touching digits
LOW_MARK = 0.5  # a mark lower than this, in the number's height, is part of a digit


def pieces(ink):
    """The 8-connected pieces of a binary image: a list of (rows, cols) index arrays, in the
    order of each piece's first pixel, row by row (scipy.ndimage.label's numbering)."""
    labels, count = ndimage.label(ink, structure=np.ones((3, 3), int))
    rows, cols = np.nonzero(labels)
    order = np.argsort(labels[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    ends = np.cumsum(np.bincount(labels[rows, cols], minlength=count + 1)[1:])[:-1]
    return list(zip(np.split(rows, ends), np.split(cols, ends))) if count else []


def marks(strokes):
    """The ink's separate marks, specks left out: a list of (rows, cols) index arrays."""
    return _without_specks(pieces(strokes > MARK))


def joined_marks(strokes):
    """The marks, each with the fainter ink around it that joins it to others (ink above
    JOINED): a list of (rows, cols) index arrays, specks left out. A fine pen's line, shrunk
    below a pixel's width, is faint in stretches; cut there, it would fall into marks a
    gap apart, as far apart as two digits. Faint ink that touches no mark (dust, a guide
    line, the page beneath) stays out."""
    return _without_specks([piece for piece in pieces(strokes > JOINED)
                            if strokes[piece].max() > MARK])


def _without_specks(found):
    """The pieces [(rows, cols)] that are no speck beside the largest."""
    if not found:
        return []
    largest = max(len(p[0]) for p in found)
    return [p for p in found if len(p[0]) >= SPECK * largest]


def marks_box(strokes):
    """(top, bottom, left, right) of the box around the ink's marks, bottom and right past
    the end; None when there are none. Not of every non-zero pixel: faint traces and specks
    anywhere in a photo would set it."""
    found = marks(strokes)
    if not found:
        return None
    rows = np.concatenate([piece[0] for piece in found])
    cols = np.concatenate([piece[1] for piece in found])
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def split_digits(strokes, found=None):
    """The digits of a number written in a row, left to right: a strokes map for each.

    The ink's marks, joined by their faint stretches (joined_marks()), are grouped by
    their columns: marks side by side with a gap between them are separate digits; a mark
    over or under another (a 5's bar, a broken stroke) is part of it. Specks are left out.
    A group far wider than tall is taken for touching digits, and cut where its ink is
    thinnest. found: joined_marks(strokes), if known already.
    """
    found = joined_marks(strokes) if found is None else found
    if not found:
        return [strokes]
    height = max(p[0].max() - p[0].min() + 1 for p in found)
    groups = []  # [first column, last column, [pieces]], left to right
    for piece in sorted(found, key=lambda p: p[1].min()):
        first, last = piece[1].min(), piece[1].max()
        if groups and first <= groups[-1][1] + DIGIT_GAP * height:
            groups[-1][1] = max(groups[-1][1], last)
            groups[-1][2].append(piece)
        else:
            groups.append([first, last, [piece]])
    # A low group (a 5's bar, a stroke's end) belongs to its nearest neighbour: digits are tall.
    for index in sorted(range(len(groups)), key=lambda i: _group_height(groups[i])):
        group = groups[index]
        if len(groups) == 1 or _group_height(group) >= LOW_MARK * height:
            continue
        neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(groups)
                      and groups[i] is not None]
        if not neighbours:
            continue
        nearest = min(neighbours, key=lambda i: max(groups[i][0] - group[1],
                                                   group[0] - groups[i][1]))
        target = groups[nearest]
        target[0], target[1] = min(target[0], group[0]), max(target[1], group[1])
        target[2].extend(group[2])
        groups[index] = None
    groups = [group for group in groups if group is not None]
    # Each digit takes the columns up to halfway to its neighbours, with the faint edges
    # of its strokes that no piece holds.
    bounds = ([0] + [(left[1] + right[0]) // 2 + 1 for left, right in zip(groups, groups[1:])]
              + [strokes.shape[1]])
    digits = []
    tallest = max(_group_height(group) for group in groups)
    for (first, last, _), start, end in zip(groups, bounds[:-1], bounds[1:]):
        digit = np.zeros_like(strokes)
        digit[:, start:end] = strokes[:, start:end]
        digits.extend(_cut_touching(digit, first, last, tallest))
    return digits


def _group_height(group):
    """The height of a group of pieces (None, for a group merged away, sorts first)."""
    if group is None:
        return -1
    rows = np.concatenate([piece[0] for piece in group[2]])
    return rows.max() - rows.min() + 1


def _cut_touching(digit, first, last, height):
    """Cuts a group of ink much wider than the number's height into that many digits, each
    at the column nearest its place where the ink is thinnest."""
    count = int((last - first + 1) / (TOUCHING_WIDTH * height))
    if count < 2:
        return [digit]
    column_ink = digit.sum(axis=0)
    step = (last - first + 1) / count
    cuts = [first]
    for k in range(1, count):
        around = int(first + k * step)
        reach = max(1, int(step / 4))
        window = column_ink[around - reach:around + reach + 1]
        cuts.append(around - reach + int(np.argmin(window)))
    cuts.append(last + 1)
    parts = []
    for start, end in zip(cuts[:-1], cuts[1:]):
        part = np.zeros_like(digit)
        part[:, start:end] = digit[:, start:end]
        if part.max() > 0:
            parts.append(part)
    return parts
