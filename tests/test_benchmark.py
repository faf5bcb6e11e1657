"""tools/benchmark.py's measurements of the served CNN, end to end on a tiny trained run:
each must run as the closing notes run it (their figures are the benchmark's to report)."""
import pytest

from conftest import tiny_flags
import benchmark
import cnn_mnist


@pytest.fixture(scope="module")
def cnn_run(shared_tiny_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cnn") / "run"
    cnn_mnist.main(tiny_flags(shared_tiny_dir, run_dir, "--steps", "2"))
    return str(run_dir)


def test_pngs_and_strokes_through_classify_and_the_draw_page(cnn_run, capsys):
    benchmark.classify_png(3, cnn_run)
    benchmark.draw_strokes(3, cnn_run)
    out = capsys.readouterr().out
    assert "as PNG files, white on black, through classify.py:" in out
    assert "redrawn as pen strokes on the page" in out


def test_every_kind_of_simulated_photo(cnn_run, capsys):
    benchmark.photo_accuracy(2, cnn_run, split="validation")
    out = capsys.readouterr().out
    for kind in ("thin pen", "marker", "shadow", "coloured ink", "squared paper", "numbers",
                 "rows, small", "rows, faint", "all photos"):
        assert "  %s " % kind in out, kind


def test_peers_run_at_each_scripts_own_default_batch():
    import rnn_mnist

    assert benchmark.default_batch_size("cnn") == cnn_mnist.build_parser().get_default(
        "batch_size") == 50
    assert benchmark.default_batch_size("rnn") == rnn_mnist.build_parser().get_default(
        "batch_size")
