"""classify.py: preparing images the way MNIST's were, and classifying files, good and bad."""
import io
import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import (REPO_DIR, after_the_model_line, bundled_mnist, memory_growth_mb,
                      needs_vmhwm, unwritable_dir)
import classify
import draw
import softmax_mnist
from tfmnist import classifiers, rundirs
from tfmnist.photos import image_files, sheet
from tfmnist.command_line import UsageError, run_main
from tfmnist.photos.digits import to_mnist, to_mnist_digits
from tfmnist.classifiers import Predictor
from tfmnist.tf1 import tf


def write_png(path, pixels):
    """Writes uint8 pixels [h, w] or [h, w, channels] as a PNG file."""
    Image.fromarray(np.asarray(pixels, np.uint8)).save(str(path), "PNG")
    return str(path)


def png_header(width, height):
    """A PNG file that says it holds an 8-bit grey image of that size, with no pixels."""
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    size = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", size + bytes([8, 0, 0, 0, 0]))
            + chunk(b"IDAT", b"") + chunk(b"IEND", b""))


def seven(height=20):
    """A '7' of ink 1.0 on 0.0, `height` tall: the bar and a slanted stroke, 3 pixels thick."""
    glyph = np.zeros((height, 14))
    glyph[:3] = 1.0
    for row in range(3, height):
        col = 13 - (row * 10) // height
        glyph[row, col - 2:col + 1] = 1.0
    return glyph


def reference_28x28(ink_map):
    """MNIST's steps in plain NumPy, for ink whose bounding box is already 20 pixels long."""
    rows, cols = np.nonzero(ink_map)
    digit = ink_map[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert max(digit.shape) == 20  # no scaling needed
    row_mass, col_mass = [(index * digit).sum() / digit.sum() for index in np.indices(digit.shape)]
    top, left = int(round(13.5 - row_mass)), int(round(13.5 - col_mass))
    canvas = np.zeros((28, 28))
    canvas[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return canvas


def on_canvas(glyph, shape=(60, 60), at=(7, 33)):
    canvas = np.zeros(shape)
    canvas[at[0]:at[0] + glyph.shape[0], at[1]:at[1] + glyph.shape[1]] = glyph
    return canvas


def prepared(path):
    return to_mnist(image_files.read_image(path))


def test_dark_digit_on_white_paper(tmp_path):
    ink_map = on_canvas(seven())
    path = write_png(tmp_path / "dark.png", 255 - 255 * ink_map)
    np.testing.assert_allclose(prepared(path), reference_28x28(ink_map), atol=1e-6)


def test_white_digit_on_black(tmp_path):
    ink_map = on_canvas(seven())
    path = write_png(tmp_path / "white.png", 255 * ink_map)
    np.testing.assert_allclose(prepared(path), reference_28x28(ink_map), atol=1e-6)


def test_transparent_png_counts_alpha_as_ink(tmp_path):
    ink_map = on_canvas(seven())
    rgba = np.zeros((60, 60, 4))
    rgba[..., 3] = 255 * ink_map  # black ink, and a fully transparent (black) background
    path = write_png(tmp_path / "alpha.png", rgba)
    np.testing.assert_allclose(prepared(path), reference_28x28(ink_map), atol=1e-6)


def test_small_off_centre_digit_is_scaled_up_and_centred(tmp_path):
    image = np.zeros((64, 64))
    image[50:60, 2:7] = 255  # a 10x5 stroke in the corner
    got = prepared(write_png(tmp_path / "small.png", image))
    expected = np.zeros((28, 28))
    expected[4:24, 9:19] = 1.0  # scaled to 20x10, its centre of mass at the centre
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_grey_unevenly_lit_paper_is_no_ink(tmp_path):
    ink_map = on_canvas(seven())
    # Paper lit from grey 150 on the left to 230 on the right, the left half in a shadow
    # with a soft edge, a pencil-grey digit at 60 on it.
    columns = np.arange(60)
    paper = np.linspace(150, 230, 60) - 50 / (1 + np.exp((columns - 26) / 2.0))
    paper = paper[None, :] * np.ones((60, 1))
    photo = np.where(ink_map > 0, 60, paper)
    photo += np.random.default_rng(0).normal(0, 3, photo.shape)  # the paper's grain
    got = prepared(write_png(tmp_path / "photo.png", np.clip(photo, 0, 255)))
    expected = reference_28x28(ink_map)
    assert (got[expected == 0] < 0.05).all()  # the background is at zero
    assert got[expected == 1].mean() > 0.8  # the strokes are ink


def test_blank_empty_and_non_images_are_refused(tmp_path):
    cases = {
        "blank.png": (lambda p: write_png(p, np.full((30, 30), 255)), "blank: no ink found"),
        "empty.png": (lambda p: p.write_bytes(b""), "empty file"),
        "notes.txt": (lambda p: p.write_text("not an image"), "not an image"),
        "broken.png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30)),
                       "cannot decode"),
        # A header claiming 100,000 x 100,000 pixels: refused before decoding.
        "huge.png": (lambda p: p.write_bytes(png_header(100000, 100000)),
                     "too large (10000000000 pixels; at most 50 megapixels)"),
        # A truncated PNG: its header reads, its pixels do not.
        "short.png": (lambda p: p.write_bytes(
            Path(write_png(tmp_path / "x.png", 255 * seven())).read_bytes()[:60]),
            "cannot decode: a damaged PNG file"),
    }
    for name, (write, words) in cases.items():
        path = tmp_path / name
        write(path)
        with pytest.raises(image_files.ImageError, match=re.escape(words)):
            prepared(str(path))


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory):
    """A softmax model trained briefly on the real MNIST: its run directory."""
    run_dir = str(tmp_path_factory.mktemp("softmax_run"))
    softmax_mnist.main(["--data-dir", os.path.join(REPO_DIR, "data"), "--steps", "300",
                        "--run-dir", run_dir, "--log-every", "1000"])
    return run_dir


def test_mnist_digits_as_png_are_classified_as_their_arrays(softmax_run, tmp_path):
    test = bundled_mnist().test
    images = test.images[:30]
    from_arrays = Predictor.from_checkpoint(softmax_mnist.inference, softmax_run).logits(images).argmax(1)
    for inverted in (False, True):  # white on black as in MNIST, and black on white
        paths = [write_png(tmp_path / ("%d-%d.png" % (inverted, i)),
                           255 * (1 - image if inverted else image).reshape(28, 28))
                 for i, image in enumerate(images)]
        results = classify.classify(paths, model="softmax", run_dir=softmax_run)
        from_files = np.array([results[path].probabilities[0].argmax() for path in paths])
        assert (from_files == from_arrays).mean() >= 0.9


def test_command_reports_bad_files_and_classifies_the_rest(softmax_run, tmp_path, capsys):
    good = write_png(tmp_path / "seven.png", 255 - 255 * on_canvas(seven()))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"oops")
    saved = tmp_path / "seen"
    code = classify.main([good, str(bad), "--model", "softmax", "--run-dir", softmax_run,
                          "--save-input", str(saved)])
    out, err = capsys.readouterr()
    assert code == 1  # not all succeeded
    assert out.startswith(good + ": ") and "%; then" in out and out.count("\n") == 1
    assert out.endswith("  [input: %s; ink: seven.ink.png]\n" % (saved / "seven.1.png"))
    assert after_the_model_line(err) == (
        "%s: error: not an image file Pillow can read (PNG, JPEG, GIF, BMP, ...)\n" % bad)
    assert sorted(os.listdir(saved)) == ["seven.1.png", "seven.ink.png"]
    seen = image_files.read_image(str(saved / "seven.1.png"))
    assert seen.shape == (28, 28, 1)
    ink_map = image_files.read_image(str(saved / "seven.ink.png"))
    assert ink_map.shape[:2] == (60, 60) and ink_map.max() == 255
    assert classify.main([good, "--model", "softmax", "--run-dir", softmax_run]) == 0


def test_no_checkpoint_says_which_command_trains_one(tmp_path, monkeypatch):
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))
    for run_dir in (None, str(tmp_path)):  # the default place, and one named
        with pytest.raises(UsageError, match="no trained cnn model in .*: train "
                                                          "one first with `python cnn_mnist.py`"):
            classify.classify(["x.png"], run_dir=run_dir)


def test_summaries_hold_scalars_graph_and_misclassified_digits(shared_tiny_dir, tmp_path):
    from conftest import tiny_flags

    # A learning rate too small to learn anything in 2 steps leaves misclassified digits.
    softmax_mnist.main(tiny_flags(shared_tiny_dir, tmp_path, "--steps", "2", "--log-every", "1",
                                  "--learning-rate", "1e-6"))
    [events_file] = [f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents")]
    tags, has_graph = set(), False
    for event in tf.train.summary_iterator(str(tmp_path / events_file)):
        has_graph |= bool(event.graph_def)
        tags.update(value.tag for value in event.summary.value)
    assert has_graph
    assert {"loss", "accuracy/train_batch", "accuracy/validation", "learning_rate"} <= tags
    assert any(tag.startswith("misclassified/test image") and "predicted" in tag
               for tag in tags)


def test_a_jpeg_too_large_is_refused_before_decoding_even_with_fill_bytes(tmp_path):
    """A legal fill byte (0xFF) before the frame header hid the size from a hand-written
    header walk; Pillow's parser follows the format and finds it."""
    small = tmp_path / "small.jpg"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(str(small), "JPEG")
    data = small.read_bytes()
    frame = data.index(b"\xff\xc0")  # SOF0: length, precision, height, width
    huge = (data[:frame] + b"\xff" + data[frame:frame + 5] + (8000).to_bytes(2, "big") * 2
            + data[frame + 9:])
    (tmp_path / "huge.jpg").write_bytes(huge)
    with pytest.raises(image_files.ImageError, match=re.escape(
            "too large (8000x8000 pixels; at most 50 megapixels)")):
        image_files.read_image(str(tmp_path / "huge.jpg"))


def test_inputs_with_the_same_name_are_saved_apart(softmax_run, tmp_path, capsys):
    ink = 255 - 255 * on_canvas(seven())
    (tmp_path / "a").mkdir()
    paths = [write_png(tmp_path / "7.png", ink), str(tmp_path / "7.jpg"),
             write_png(tmp_path / "a" / "7.png", ink)]
    Image.fromarray(ink.astype(np.uint8)).save(paths[1], "JPEG")
    saved = tmp_path / "seen"
    assert classify.main([*paths, "--model", "softmax", "--run-dir", softmax_run,
                          "--save-input", str(saved)]) == 0
    stems = ["7", "7-2", "7-3"]
    assert sorted(os.listdir(saved)) == sorted(
        name for stem in stems for name in (stem + ".1.png", stem + ".ink.png"))
    lines = capsys.readouterr().out.splitlines()
    for path, stem, line in zip(paths, stems, lines):
        assert line.startswith(path + ": ") and line.endswith(
            "[input: %s; ink: %s.ink.png]" % (saved / (stem + ".1.png"), stem))


def test_save_input_writes_each_digit_of_a_number_and_the_ink_map(softmax_run, tmp_path,
                                                                   capsys):
    glyph = on_canvas(seven())[:, 25:55]
    number = write_png(tmp_path / "777.png", 255 - 255 * np.concatenate([glyph] * 3, axis=1))
    saved = tmp_path / "seen"
    assert classify.main([number, "--model", "softmax", "--run-dir", softmax_run,
                          "--save-input", str(saved)]) == 0
    assert capsys.readouterr().out.endswith(
        "  [input: %s to 777.3.png; ink: 777.ink.png]\n" % (saved / "777.1.png"))
    assert sorted(os.listdir(saved)) == ["777.1.png", "777.2.png", "777.3.png", "777.ink.png"]
    first, second = (image_files.read_image(str(saved / name)) for name in ("777.1.png",
                                                                           "777.2.png"))
    assert first.shape == (28, 28, 1) and np.abs(first.astype(int) - second).max() <= 1
    assert image_files.read_image(str(saved / "777.ink.png")).shape[:2] == (60, 90)


@pytest.mark.parametrize("case", ["a file", "unwritable"])
def test_save_input_where_it_cannot_write_is_one_line(softmax_run, tmp_path, capsys, case):
    good = write_png(tmp_path / "seven.png", 255 - 255 * on_canvas(seven()))
    if case == "a file":
        target = tmp_path / "taken"
        target.write_text("x")
        words = "--save-input %s: cannot write there: it is a file, not a directory" % target
    else:
        target = unwritable_dir()
        words = "--save-input %s: cannot write there: Permission denied" % target
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: classify.main(
            [good, "--model", "softmax", "--run-dir", softmax_run, "--save-input", str(target)]),
            "classify.py")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "classify.py: error: %s\n" % words


def test_a_phone_photo_is_turned_as_its_exif_orientation_says(tmp_path):
    upright = np.full((40, 30), 255, np.uint8)
    upright[5:15, 10:20] = 0  # a dark square near the top
    photo = Image.fromarray(np.rot90(upright, -1).copy())  # stored on its side, as phones do
    exif = Image.Exif()
    exif[0x0112] = 8  # Orientation: turn 90 degrees counter-clockwise to view
    photo.save(str(tmp_path / "phone.jpg"), "JPEG", exif=exif, quality=95)
    pixels = image_files.read_image(str(tmp_path / "phone.jpg"))[..., 0]
    assert pixels.shape == (40, 30)
    assert pixels[5:15, 10:20].mean() < 60 and pixels[25:35, 10:20].mean() > 200


def test_the_photo_simulator_makes_the_same_photos_from_the_same_digits():
    import photos

    digits = bundled_mnist().test
    for kind in photos.KINDS:
        first = photos.render(kind, digits.images[:2])
        assert photos.render(kind, digits.images[:2]) == first
        pixels = image_files.decode(first[0])  # a JPEG, as a phone saves it
        assert pixels.shape[2] == 3 and min(pixels.shape[:2]) >= 60
    numbers = photos.render_numbers(digits.images[:9])
    assert photos.render_numbers(digits.images[:9]) == numbers
    assert sum(shown for _, shown in numbers) == 9 and all(2 <= shown <= 4
                                                          for _, shown in numbers[:-1])
    for jpeg, shown in numbers:  # each splits into the digits it shows
        assert len(to_mnist_digits(image_files.decode(jpeg))) == shown
    rows = photos.render_rows(digits.images[:14])
    assert photos.render_rows(digits.images[:14]) == rows
    assert sum(shown for _, shown in rows) == 14 and 5 <= rows[0][1] <= 12
    pixels = image_files.decode(rows[0][0])
    assert pixels.shape[0] >= 720 and pixels.shape[1] == pixels.shape[0] * 4 // 3
    desks = photos.render_on_desks(digits.images[:6])
    assert photos.render_on_desks(digits.images[:6]) == desks
    assert [shown for _, shown in desks] == [1, 1, 3, 1]


def sheet_on_a_desk(turn=8, desk=(40, 38, 36), sheet_size=(460, 620), down=0, shadow=0.0):
    """A photo, 480x640 RGB, of a white sheet of `sheet_size` turned by `turn` degrees on a
    desk of colour `desk`, the desk at its corners and along its left edge (and its top,
    the sheet moved `down`), a thick seven written in its middle; with the phone's hard
    shadow across the top quarter, `shadow` darker, where shadow > 0; grain, and a phone's
    JPEG. And the same photo cropped to the sheet around the seven."""
    paper = np.full(sheet_size + (3,), 235.0)
    glyph = np.kron(seven(), np.ones((6, 6)))  # 120 tall
    top, left = sheet_size[0] // 2 - 60, sheet_size[1] // 2 - 42
    paper[top:top + 120, left:left + 84] -= 200 * glyph[..., None]
    sheet = Image.fromarray(np.uint8(np.concatenate(
        [paper, np.full(sheet_size + (1,), 255.0)], axis=2)), "RGBA").rotate(
            turn, expand=True, resample=Image.BILINEAR)
    photo = Image.new("RGB", (640, 480), desk)
    photo.paste(sheet, ((640 - sheet.width) // 2 + 40, (480 - sheet.height) // 2 + down),
                sheet)
    pixels = np.asarray(photo, np.float32)
    pixels[:120] *= 1 - shadow
    pixels += np.random.default_rng(0).normal(0, 3, pixels.shape[:2])[..., None]
    jpeg = io.BytesIO()
    Image.fromarray(np.uint8(np.clip(pixels, 0, 255))).save(jpeg, "JPEG", quality=70)
    pixels = image_files.decode(jpeg.getvalue())
    return pixels, pixels[140 + down:340 + down, 250:510]


def alike(first, second):
    """How alike two images are: the cosine of the angle between them (1: the same)."""
    return np.sum(first * second) / np.sqrt(np.sum(first ** 2) * np.sum(second ** 2))


@pytest.mark.parametrize("desk, options", [
    ((40, 38, 36), {}),  # dark
    ((150, 100, 60), {}),  # wood
    ((170, 165, 153), {}),  # light beige, a little tinted
    # The shadow across the desk and a strip of the sheet: its edge was read as a stroke.
    ((40, 38, 36), {"shadow": 0.4, "sheet_size": (400, 660), "down": 50, "turn": 2}),
    ((170, 165, 153), {"shadow": 0.4, "sheet_size": (400, 660), "down": 50, "turn": 2}),
    # ... so dark that the paper in it is ragged: the sheet with it is no convex shape.
    ((170, 165, 153), {"shadow": 0.62, "sheet_size": (400, 660), "down": 50, "turn": 2}),
    ((40, 38, 36), {"turn": 3, "sheet_size": (500, 660)}),  # the desk only in slivers
], ids=["dark", "wood", "light", "dark, shadow", "light, shadow", "light, dark shadow", "slivers"])
def test_a_sheet_on_a_desk_is_read_inside_the_sheet(desk, options):
    """The desk at the corners and along an edge, and the phone's shadow across the sheet's
    edge, are not read as strokes: the seven comes out as it does from the photo cropped to
    the sheet."""
    pixels, cropped = sheet_on_a_desk(desk=desk, **options)
    assert sheet.sheet_mask(pixels) is not None
    [whole] = to_mnist_digits(pixels)
    [alone] = to_mnist_digits(cropped)
    assert alike(whole, alone) > 0.95


@pytest.mark.parametrize("edge", ["top", "bottom", "left", "right"])
@pytest.mark.parametrize("darkness", [0.5, 0.3])
def test_a_photo_cropped_close_with_a_shadow_along_an_edge_reads_as_without(edge, darkness):
    """Cropped close to its digit, a photo keeps a band of the phone's shadow (or of the
    desk) along an edge: not strokes. Read as strokes, the seven shrank beside a bar (the
    benchmark's desk photos cropped to their digits: 91.5% read right, 98.0% once not)."""
    _, alone = sheet_on_a_desk()  # the seven in the middle of 200x260 of paper
    height, width = alone.shape[:2]
    band = {"top": np.s_[:height // 10], "bottom": np.s_[-height // 10:],
            "left": np.s_[:, :width // 10], "right": np.s_[:, -width // 10:]}[edge]
    banded = alone.copy()
    banded[band] *= 1 - darkness
    [read] = to_mnist_digits(banded)
    [clear] = to_mnist_digits(alone)
    assert alike(read, clear) > 0.95


def test_a_sheet_cropped_close_under_the_phones_shadow_reads_as_without():
    # The shadow's edge runs across the crop's top, slightly turned (read as strokes: 0.33
    # alike, not 0.95).
    pixels, alone = sheet_on_a_desk(shadow=0.4, sheet_size=(400, 660), down=50, turn=2)
    [read] = to_mnist_digits(pixels[110:360, 250:510])
    [clear] = to_mnist_digits(alone)
    assert alike(read, clear) > 0.95


def test_ink_along_an_edge_that_is_all_the_ink_or_joins_a_digit_is_kept():
    from tfmnist.photos import ink

    tight_seven = seven()  # its bar runs along the whole top, joined to its stem
    assert tight_seven[0].all() and not ink.border_bands(tight_seven).any()
    band = np.zeros((60, 60), np.float32)
    band[:6] = 1.0  # a band, and nothing else: what else could be read
    assert not ink.border_bands(band).any()
    band[20:40, 25:30] = 1.0  # a one below it
    assert ink.border_bands(band).sum() == 6 * 60


def test_a_thick_marker_loop_cut_by_the_frame_is_no_shadow():
    """A hard shadow is a large, even, dark region from beyond the frame; so is a thick
    marker's 8 cropped tight, but its loops enclose paper, and its ink is kept."""
    import photos
    from tfmnist.photos import ink

    test = bundled_mnist().test
    eights = test.images[test.labels == 8][:30]  # the 22nd lost all but a speck before
    for index, jpeg in enumerate(photos.render("marker", eights)):
        pixels = image_files.decode(jpeg)
        inked = np.sum(ink.ink(pixels) > 0.3)
        assert np.sum(ink.ink_strokes(pixels) > 0.3) > 0.5 * inked, index


def test_a_close_up_whose_strokes_run_off_the_frame_is_left_whole():
    """Paper around strokes that run off the frame is no sheet on a desk: nothing is cut
    away or painted over, however straight the strokes' edges (a seven's bar, here), and
    with a hard shadow from the frame's edge beside them (no shadow of a sheet on a desk)."""
    glyph = np.kron(seven(), np.ones((3, 3)))
    for at in ((0, 60), (40, 120)):  # the bar along the top edge; the stroke off the bottom
        for shadow in (None, np.s_[:, :60], np.s_[60:, :], np.s_[:, 140:]):
            ink_map = on_canvas(glyph, shape=(100, 170), at=at)
            pixels = np.repeat((235 - 200 * ink_map)[..., None], 3, axis=2).astype(np.float32)
            if shadow is not None:
                pixels[shadow] *= 0.55
            assert sheet.sheet_mask(pixels) is None, (at, shadow)
            assert sheet.on_the_sheet(pixels) is pixels


def _stroke_width(image):
    """Ink mass over skeleton length: the mean stroke width of a 28x28 digit, in pixels."""
    from tfmnist.photos.morphology import skeleton

    return image.sum() / skeleton(image > 0.5).sum()


def test_a_1_pixel_and_a_12_pixel_pen_give_the_same_stroke_width(tmp_path):
    widths = []
    for pen in (1, 12):
        photo = Image.new("L", (360, 420), 255)
        draw_on = ImageDraw.Draw(photo)
        draw_on.line([(90, 40), (270, 40), (150, 380)], fill=0, width=pen)  # a "7", 340 tall
        photo.save(str(tmp_path / ("pen%d.png" % pen)))
        widths.append(_stroke_width(prepared(str(tmp_path / ("pen%d.png" % pen)))))
    # MNIST's strokes are 0.13 of the digit's 20-pixel box: about 2.6 pixels.
    assert widths[0] == pytest.approx(widths[1], rel=0.25)
    assert all(1.8 < width < 3.6 for width in widths), widths


def pencil_seven_in_shadow(tmp_path, edge, grain=0.0):
    """A pencil 7 on 80x80 paper whose columns right of `edge` lie in a deep shadow, its
    edge soft as a shadow's is (a change of light as sharp as a pen's line could be a line:
    see tfmnist/photos/ink.py's reflectance). Returns what classify made of it, and the 7's reference."""
    ink_map = on_canvas(seven(), shape=(80, 80), at=(30, 33))
    columns = np.arange(80)
    paper = np.full((80, 80), 235.0) * (1 - 0.55 / (1 + np.exp(-(columns - edge) / 3.0)))
    photo = paper * (1 - 0.7 * ink_map)  # pencil: 70% of the light taken where it lies
    photo += np.random.default_rng(0).normal(0, grain, photo.shape) if grain else 0.0
    got = prepared(write_png(tmp_path / "shadow.png", np.clip(photo, 0, 255)))
    return got, reference_28x28(ink_map)


def test_a_stroke_half_in_shadow_keeps_its_strength(tmp_path):
    got, expected = pencil_seven_in_shadow(tmp_path, edge=40)  # the right half shaded
    lit, shaded = expected.copy(), expected.copy()
    lit[:, 14:], shaded[:, :14] = 0, 0
    assert got[lit == 1].mean() > 0.8 and got[shaded == 1].mean() > 0.8
    assert (got[expected == 0] < 0.1).mean() > 0.97  # and the shadow's edge is not ink


def test_a_photo_mostly_in_shadow_is_still_dark_ink_on_paper(tmp_path):
    # Most of the border is shadowed paper, darker than mid-grey: the paper is still the
    # light, and the digit's ink the dark.
    got, expected = pencil_seven_in_shadow(tmp_path, edge=20, grain=2.0)
    assert got[expected == 1].mean() > 0.8
    assert (got[expected == 0] < 0.1).mean() > 0.97


@pytest.mark.parametrize("edge, slope, width", [(700, 0.15, 1280), (490, 0.0, 960)])
def test_a_row_of_small_digits_above_a_hard_shadow_reads_as_its_digits(edge, slope, width):
    # A phone's photo of a number written small with a fine pen, the phone's own shadow
    # across the bottom with a hard edge: the edge is no ink, and the row is looked at
    # closely enough to split it. The edge slopes into the border, or the shadow covers
    # most of the border: the paper is still the light part.
    rows, cols = np.mgrid[0:960, 0:width]
    photo = np.where(rows > edge + slope * (cols - width / 2), 0.4, 1.0) * 235.0
    glyph = seven(height=36)  # under 4% of the photo's height
    ink_map = np.zeros_like(photo)
    for left in range(width // 2 - 200, width // 2 + 200, 50):  # eight sevens in a row
        ink_map[420:456, left:left + glyph.shape[1]] = glyph
    photo = np.where(ink_map > 0, 40.0, photo)
    digits = to_mnist_digits(photo[..., None])
    assert len(digits) == 8
    for digit in digits[1:]:
        assert np.abs(digit - digits[0]).mean() < 0.05  # each prepared alike, on its own


def test_rows_on_a_page_of_faint_traces_split_into_their_digits_each_full_size():
    # The simulator's "rows, faint" (tools/photos.py): thin slanted digits on a page with
    # faint traces all over it. The traces are no ink of the row: it is still small, looked
    # at closer, and split into its digits, each filling MNIST's 20-pixel box (before, a
    # row of 10 read as 6, and digits shrank to dots).
    import photos
    from tfmnist.photos.digits import prepare

    digits = bundled_mnist().validation.images[:40]
    for jpeg, shown in photos.render_rows(digits, faint=True):
        prepared = prepare(image_files.decode(jpeg)).digits
        assert len(prepared) == shown
        for digit in prepared:
            rows, cols = np.nonzero(digit > 0.1)
            assert max(np.ptp(rows), np.ptp(cols)) + 1 >= 19


def test_dark_ink_on_paper_whose_border_is_mostly_in_a_hard_shadow():
    # The light paper meets the border only along part of the top: the border's typical
    # level is the shadow's, yet the ink is still the dark, not the light paper.
    from tfmnist.photos.ink import ink

    photo = np.full((120, 120), 0.4 * 235.0)
    photo[:60, 30:90] = 235.0  # the lit part of the page
    strokes = np.zeros((120, 120), bool)
    strokes[10:50, 50:64] = seven(height=40) > 0
    photo[strokes] = 40.0
    got = ink(photo[..., None])
    assert got[strokes].mean() > got[:60, 30:90][~strokes[:60, 30:90]].mean() + 0.3
    # ... and is measured against the paper it is on, the lit paper, not the shadow that
    # covers most of the border (against the shadow: 1 - 40 / 94, and a fine pen's faint
    # digits vanished).
    np.testing.assert_allclose(got[strokes], 1 - 40 / 235, atol=0.03)


@pytest.mark.parametrize("trace", [(0.2, 2), (0.25, 1)])
def test_a_faint_trace_in_a_digits_crop_does_not_shrink_it(trace):
    # A digit's crop in a photo of a row holds the whole height of the page: a faint speck or
    # line far above the digit is no ink of it, and must not set its box (real photos: a 7
    # came out a speck of 3 pixels in an empty 28x28).
    from tfmnist.photos.digits import digit_28x28

    level, size = trace
    strokes = on_canvas(seven(height=40), shape=(400, 60), at=(300, 20))
    strokes[20:20 + size, 10:10 + 3 * size] = level  # a speck, 280 pixels above the digit
    alone = digit_28x28(on_canvas(seven(height=40), shape=(400, 60), at=(300, 20)))
    with_trace = digit_28x28(strokes)
    rows, cols = np.nonzero(with_trace > 0.1)
    assert np.ptp(rows) + 1 >= 19  # the 20x20 box, not a dot
    np.testing.assert_allclose(with_trace, alone, atol=1e-6)


def test_a_faint_digit_is_prepared_at_full_strength():
    # MNIST's digits were scanned black and white: a digit whose ink is faint beside a
    # row's darkest stroke (a fine pen's line shrunk below a pixel) is the same digit.
    from tfmnist.photos.digits import digit_28x28

    dark = on_canvas(seven(height=40), shape=(60, 40), at=(10, 13))
    np.testing.assert_allclose(digit_28x28(0.4 * dark), digit_28x28(dark), atol=1e-6)
    assert digit_28x28(0.4 * dark).max() == 1.0


def test_a_stroke_faint_in_a_stretch_stays_one_digit():
    # A fine pen's line, shrunk, is faint in stretches: cut there, a 4 whose bar faded fell
    # into two marks side by side, both tall, a gap apart, and was read as two digits.
    # Faint ink that touches no stroke (a trace on the page) is still no part of one.
    from tfmnist.photos.number_splitting import split_digits

    four = np.zeros((40, 14))
    four[:25, :3] = four[22:25, :] = four[:, 11:] = 1.0
    four[22:25, 4:10] = 0.25  # the bar fades for 6 pixels
    strokes = on_canvas(four, shape=(60, 100), at=(10, 13))
    strokes[5:30, 60:63] = 0.25  # a faint line of the page beneath, beside the 4
    assert len(split_digits(strokes)) == 1
    strokes[10:50, 70:84] = seven(height=40)  # and a second digit, a gap to the right
    assert len(split_digits(strokes)) == 2


def test_faint_rows_in_the_simulator_are_seeded_and_thin():
    import photos

    digits = bundled_mnist().validation
    rows = photos.render_rows(digits.images[:8], faint=True)
    assert photos.render_rows(digits.images[:8], faint=True) == rows
    assert rows != photos.render_rows(digits.images[:8])
    assert sum(shown for _, shown in rows) == 8


def test_the_simulators_open_4s_are_seeded_open_and_in_mnists_box():
    # Drawn 4s open at the top (a hook and a stem, like a Ч): no background enclosed by the
    # ink, as a closed 4's or a 9's loop is (at most a pinhole where the hook meets the
    # stem); as MNIST's, within a 20x20 box in the middle, and as wide as MNIST's 4s (ink
    # 11 or more pixels wide but for 1 in 20): a 4 as narrow as a 1, its hook against its
    # stem, is no way people write a 4.
    import photos
    from scipy import ndimage

    fours = photos.open_fours(50)
    np.testing.assert_array_equal(photos.open_fours(50), fours)
    assert fours.shape == (50, 784) and fours.min() >= 0 and fours.max() == 1
    for four in fours.reshape(-1, 28, 28):
        background, _ = ndimage.label(four < 0.3)
        enclosed = np.setdiff1d(background, np.concatenate(  # 0: the ink
            [[0], background[0], background[-1], background[:, 0], background[:, -1]]))
        assert all((background == region).sum() <= 4 for region in enclosed)
        rows, cols = np.nonzero(four > 0.1)
        assert 18 <= np.ptp(rows) + 1 <= 21 and np.ptp(cols) + 1 <= 21
    inked_columns = (fours.reshape(-1, 28, 28) > 0.3).any(axis=1)
    widths = [np.ptp(np.nonzero(columns)[0]) + 1 for columns in inked_columns]
    assert np.percentile(widths, 5) >= 11


def test_faint_squared_paper_is_not_ink(tmp_path):
    ink_map = on_canvas(seven(), shape=(90, 90), at=(35, 38))
    photo = np.full((90, 90), 240.0)
    photo[::9, :] = photo[:, ::9] = 215  # squared paper's faint lines, every 9 pixels
    photo = np.where(ink_map > 0, 40, photo)
    got = prepared(write_png(tmp_path / "squared.png", photo))
    expected = reference_28x28(ink_map)
    assert got[expected == 1].mean() > 0.8
    assert (got[expected == 0] < 0.1).mean() > 0.97


@pytest.mark.slow
@needs_vmhwm
def test_a_4000x3000_jpeg_is_read_within_bounded_memory(tmp_path):
    """How long it takes is measured by `tools/benchmark.py photos`."""
    photo = Image.new("L", (4000, 3000), 230)
    ImageDraw.Draw(photo).line([(1500, 700), (2500, 700), (1800, 2300)], fill=30, width=60)
    photo.save(str(tmp_path / "big.jpg"), "JPEG", quality=85)
    grown_mb, shape, peak = memory_growth_mb(
        "from tfmnist.photos.digits import to_mnist\nfrom tfmnist.photos.image_files import read_image",
        "to_mnist(read_image(sys.argv[1]))", tmp_path / "big.jpg")
    assert 50 < grown_mb < 600  # the 12-megapixel photo, as floats, a few times over
    assert shape == (28, 28) and peak == pytest.approx(1, abs=0.05)


@pytest.mark.slow
@needs_vmhwm
def test_a_49_megapixel_cmyk_tiff_is_reduced_before_it_is_converted(tmp_path):
    """A CMYK image (a print shop's TIFF) is reduced to at most 4 megapixels before its
    conversion to RGB and to floats: the decoded file itself (197 MB), and little beyond."""
    Image.new("CMYK", (8100, 6075), (0, 0, 0, 0)).save(tmp_path / "big.tif",
                                                        compression="tiff_deflate")
    grown_mb, shape, _ = memory_growth_mb("from tfmnist.photos.image_files import read_image",
                                          "read_image(sys.argv[1])", tmp_path / "big.tif")
    assert shape == (1519, 2025, 3)
    assert grown_mb < 350  # converted whole first, it took 568 MB


def _mnist_digits(indices):
    test = bundled_mnist().test
    return [test.images[i].reshape(28, 28) for i in indices], test.labels[list(indices)]


def test_a_three_digit_number_is_read_left_to_right(softmax_run, tmp_path, capsys):
    digits, labels = _mnist_digits((1, 0, 4))  # a 2, a 7 and a 4
    row = np.concatenate([np.pad(d, ((0, 0), (4, 4))) for d in digits], axis=1)
    path = write_png(tmp_path / "number.png", 255 - 255 * np.kron(row, np.ones((4, 4))))
    prepared_digits = to_mnist_digits(image_files.read_image(path))
    assert len(prepared_digits) == 3
    alone = [to_mnist(255 * digit[..., None]) for digit in digits]
    for index, got in enumerate(prepared_digits):
        # Each is its own digit, in the number's order: most like itself prepared alone.
        assert int(np.argmax([np.sum(got * other) for other in alone])) == index
    assert classify.main([path, "--model", "softmax", "--run-dir", softmax_run]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"%s: \d{3}  \(\d [\d.]+%%, \d [\d.]+%%, \d [\d.]+%%\)" % re.escape(path),
                        line), line
    assert classify.main([path, "--model", "softmax", "--run-dir", softmax_run,
                          "--one-digit"]) == 0
    assert re.fullmatch(r"%s: \d  \(.*\)" % re.escape(path), capsys.readouterr().out.strip())


def test_a_digit_in_pieces_stays_one_digit():
    digits, _ = _mnist_digits((856,))  # a 5 whose bar is apart from its body
    assert len(to_mnist_digits(255 * digits[0][..., None])) == 1


def test_an_image_unlike_written_digits_gets_a_note(softmax_run, tmp_path, capsys):
    rng = np.random.default_rng(0)
    texture = np.where(rng.random((60, 60)) < 0.5, 0, 255)  # ink everywhere
    specks = np.full((60, 200), 255)
    for col in range(5, 195, 12):  # sixteen short separate marks
        specks[20:40, col:col + 3] = 0
    paths = [write_png(tmp_path / "texture.png", texture),
             write_png(tmp_path / "marks.png", specks)]
    classify.main([*paths, "--model", "softmax", "--run-dir", softmax_run])
    out = capsys.readouterr().out.splitlines()
    assert "[note: ink covers" in out[0] and "is it a digit on paper?]" in out[0]
    assert "[note: 16 separate marks: more than a number's digits]" in out[1]


def test_the_newest_full_run_answers_and_every_answer_names_its_run(shared_tiny_dir, tmp_path,
                                                                     monkeypatch, capsys):
    """A short run (--steps, fewer epochs, or stopped) answers only where there is no full
    one, or where --run-dir names it; classify.py and the draw page say which run answers."""
    monkeypatch.setattr(rundirs, "RUNS_DIR", str(tmp_path / "runs"))
    tiny = ["--data-dir", shared_tiny_dir, "--validation-size", "100", "--batch-size", "50",
            "--log-every", "1000"]
    softmax_mnist.main(tiny)  # runs/softmax_mnist/1: the default 10 epochs, finished
    softmax_mnist.main(tiny + ["--epochs", "1"])  # 2
    softmax_mnist.main(tiny + ["--steps", "5"])  # 3
    runs = tmp_path / "runs" / "softmax_mnist"
    full, one_epoch, five_steps = (str(runs / n) for n in "123")
    assert classifiers.run_dir_of("softmax") == full
    assert classifiers.short_run("softmax", full) is None
    assert classifiers.short_run("softmax", one_epoch) == (
        "1 epoch, where `python softmax_mnist.py` trains 10")
    assert classifiers.short_run("softmax", five_steps) == (
        "5 steps, where `python softmax_mnist.py` trains 10 epochs")
    os.remove(os.path.join(full, rundirs.METRICS_FILE))  # as if stopped before its end
    assert "stopped before the end" in classifiers.short_run("softmax", full)
    assert classifiers.run_dir_of("softmax") == five_steps  # no full run: the newest says so

    image = write_png(tmp_path / "seven.png", 255 - 255 * on_canvas(seven()))
    capsys.readouterr()
    assert classify.main([image, "--model", "softmax"]) == 0
    said = capsys.readouterr().err
    assert said.startswith("classify.py: answering with softmax, run %s (test accuracy "
                           % five_steps)
    assert said.endswith("; a short run: 5 steps, where `python softmax_mnist.py` trains 10 "
                         "epochs\n")
    models, _ = draw.load_models({"softmax": one_epoch})
    assert draw.about(models["softmax"]).startswith(
        "run %s (test accuracy " % os.path.join("softmax_mnist", "2"))


@pytest.mark.parametrize("at, cut", [((7, 23), False), ((7, 46), True), ((0, 23), True),
                                     ((40, 23), True)])
def test_ink_at_the_edge_of_the_image_gets_a_note(softmax_run, tmp_path, capsys, at, cut):
    """A seven 20 tall and 14 wide on 60x60: inside, then against the right, top and bottom
    edges, where part of it may be cut off."""
    glyph = np.kron(seven(), np.ones((3, 3)))  # 60x42 at 3x, so that it is not a speck
    ink_map = on_canvas(glyph, shape=(180, 180), at=(3 * at[0], 3 * at[1]))
    path = write_png(tmp_path / "seven.png", 255 - 255 * ink_map)
    assert classify.main([path, "--model", "softmax", "--run-dir", softmax_run]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith("[note: ink touches the edge of the image: a digit may be cut "
                         "off]") == cut, line
