"""draw.py: the server, with every kind of bad request and many at once, and the page in a
real browser (headless Chromium driven by Selenium), drawn on with pointer strokes."""
import base64
import concurrent.futures
import http.client
import json
import os
import shutil
import threading
import time

import numpy as np
import pytest
from PIL import Image

from conftest import bundled_mnist, tiny_flags
import draw
import input_data
import softmax_mnist
import strokes
from tfmnist import classifiers, command_line, rundirs
from tfmnist.photos import image_files
from tfmnist.command_line import run_main
from tfmnist.photos.digits import prepare


@pytest.fixture(scope="module")
def trained_runs(shared_tiny_dir, tmp_path_factory):
    """A tiny softmax model, trained in its own runs/ (the other models are missing)."""
    runs = tmp_path_factory.mktemp("runs")
    softmax_mnist.main(tiny_flags(shared_tiny_dir, runs / "softmax_mnist" / "1", "--steps",
                                  "20"))
    return str(runs)


@pytest.fixture
def server(trained_runs, monkeypatch):
    """draw.py's server on a free port of 127.0.0.1; yields (host, port)."""
    monkeypatch.setattr(rundirs, "RUNS_DIR", trained_runs)
    models, missing = draw.load_models()
    assert list(models) == ["softmax"] and set(missing) == {"cnn", "rnn", "mlp"}
    httpd = draw.serve("127.0.0.1", 0, models, missing, quiet=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address
    httpd.shutdown()
    httpd.server_close()


def request(address, method, path, body=None, headers=None):
    """(status, the reply's JSON or bytes); a POST says its body is JSON, as the page does."""
    connection = http.client.HTTPConnection(*address, timeout=30)
    if method == "POST":
        headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.getheader("Content-Type") == "application/json":
        data = json.loads(data)
    return response.status, data


def classify_request(image_png):
    return json.dumps({"image": "data:image/png;base64," + base64.b64encode(
        image_png).decode()})


def a_drawn_digit(shared_tiny_dir, index=0):
    digit = input_data.read_data_sets(shared_tiny_dir, validation_size=0).test.images[index]
    return strokes.drawn(digit)


def real_digits_png(indices, tmp_path):
    """A PNG of MNIST test digits written in a row, dark on white: one digit, or a number."""
    test = bundled_mnist().test
    row = np.concatenate([np.pad(test.images[i].reshape(28, 28), ((0, 0), (4, 4)))
                          for i in indices], axis=1)
    path = tmp_path / ("%s.png" % "-".join(map(str, indices)))
    Image.fromarray(np.uint8(255 - 255 * np.kron(row, np.ones((4, 4))))).save(path)
    return path


@pytest.mark.parametrize("indices", [(0,), (1, 0, 4)])  # a 7; 2, 7 and 4 in a row
def test_a_digit_or_a_number_is_answered_as_classify_reads_it(server, tmp_path, indices):
    """Each model reads what classify.py reads: the number's digits, each prepared alike
    (the same 28x28s), each with its ten probabilities."""
    path = real_digits_png(indices, tmp_path)
    status, reply = request(server, "POST", "/classify", classify_request(path.read_bytes()))
    assert status == 200
    [(name, answer)] = reply["models"].items()
    assert name == "softmax" and len(answer["digits"]) == len(indices)
    for digit in answer["digits"]:
        assert len(digit["probabilities"]) == 10
        assert digit["digit"] == int(np.argmax(digit["probabilities"]))
        assert sum(digit["probabilities"]) == pytest.approx(1, abs=1e-5)
    assert answer["number"] == "".join(str(d["digit"]) for d in answer["digits"])
    if len(indices) == 1:
        assert answer["digit"] == answer["digits"][0]["digit"]
    prepared = prepare(image_files.read_image(str(path)))
    seen = image_files.decode(base64.b64decode(reply["input"].split(",", 1)[1]))[..., 0]
    np.testing.assert_array_equal(seen, np.round(np.concatenate(prepared.digits, axis=1) * 255))
    model = classifiers.load("softmax")
    try:
        read = model.probabilities(np.reshape(prepared.digits, (len(indices), 784))).argmax(1)
    finally:
        model.close()
    assert answer["number"] == "".join(map(str, read))
    status, loaded = request(server, "GET", "/models")
    assert loaded["missing"]["cnn"] == "python cnn_mnist.py" and "softmax" in loaded["models"]


@pytest.mark.parametrize("method, path, body, headers, status, words", [
    ("POST", "/classify", b"{not json", None, 400, "not JSON"),
    ("POST", "/classify", b'{"picture": 1}', None, 400, '"image"'),
    ("POST", "/classify", b'{"image": "%%%"}', None, 400, "not valid base64"),
    ("POST", "/classify", json.dumps({"image": base64.b64encode(b"hello").decode()}), None, 422,
     "not an image"),
    ("POST", "/classify", "BLANK", None, 422, "blank: no ink found"),
    ("POST", "/classify", b"", None, 400, "not JSON"),
    ("POST", "/classify", None, {"Content-Length": str(draw.MAX_BODY_BYTES + 1)}, 413,
     "at most 10 MB"),
    ("GET", "/nowhere", None, None, 404, "no such page"),
    ("POST", "/nowhere", b"{}", None, 404, "no such endpoint"),
    ("DELETE", "/classify", None, None, 405, "only GET and POST"),
    ("PUT", "/", b"x", None, 405, "only GET and POST"),
])
def test_bad_requests_get_a_clear_error_and_the_server_goes_on(server, shared_tiny_dir, method,
                                                               path, body, headers, status,
                                                               words):
    if body == "BLANK":
        body = classify_request(image_files.encode_png(np.ones((280, 280))))  # white: nothing drawn
    if headers:  # a body announced too large: refused before it is read
        connection = http.client.HTTPConnection(*server, timeout=30)
        connection.putrequest(method, path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        got, reply = response.status, json.loads(response.read())
        connection.close()
    else:
        got, reply = request(server, method, path, body)
    assert got == status and words in reply["error"]
    assert request(server, "GET", "/models")[0] == 200  # still serving


def test_fifty_concurrent_requests(server, shared_tiny_dir):
    bodies = [classify_request(a_drawn_digit(shared_tiny_dir, i % 10)) for i in range(45)]
    bodies += ["{broken"] * 5
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(lambda body: request(server, "POST", "/classify", body), bodies))
    assert [status for status, _ in replies] == [200] * 45 + [400] * 5
    for (_, first), (_, again) in zip(replies[:10], replies[10:20]):
        assert first == again  # the same drawing, the same answer, whatever ran beside it
    assert request(server, "GET", "/")[0] == 200


def test_a_busy_port_is_one_line(server, trained_runs, capsys):

    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: draw.main(["--port", str(server[1])]), "draw.py",
                              trains=False)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "draw.py: error: port %d on 127.0.0.1 is in use: choose another with --port\n"
        % server[1])


def test_a_request_answered_as_the_server_closes_is_left_to_the_programs_end(monkeypatch):
    # Ctrl-C ends draw.py without waiting for a request being answered: one inside a
    # TensorFlow session would be stopped by Python's exit as it comes back (SIGABRT), so
    # the program ends at once (command_line.end).
    monkeypatch.setattr(command_line, "LEFT_RUNNING", [])
    entered, release = threading.Event(), threading.Event()
    monkeypatch.setattr(draw, "answer", lambda *args: (entered.set(), release.wait(30),
                                                       (200, {}))[-1])
    httpd = draw.serve("127.0.0.1", 0, {}, {}, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = threading.Thread(target=request, args=(httpd.server_address, "POST", "/classify",
                                                    "{}"), daemon=True)
    client.start()
    assert entered.wait(30)
    httpd.shutdown()
    httpd.server_close()
    [answering] = command_line.LEFT_RUNNING
    assert answering.is_alive()
    release.set()
    client.join(30)
    answering.join(30)
    assert not httpd.answering  # each thread forgotten once its request is answered


# ---------------------------------------------------------------------------------------------
# In a real browser.

def _browser():
    """A headless Chromium under Selenium, or a skip where none is installed (CI installs
    Debian's chromium and chromium-driver: .ci/run)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium and ChromeDriver: .ci/run installs them")
        pytest.skip("no Chromium and ChromeDriver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1100,800"):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service

    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.mark.slow
def test_drawing_on_the_page_shows_the_answer_and_the_input(server, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser()
    try:
        browser.get("http://%s:%d/" % server)
        canvas = browser.find_element(By.ID, "canvas")
        missing = browser.find_element(By.ID, "missing")
        WebDriverWait(browser, 20).until(lambda _: "cnn_mnist.py" in missing.text)
        # A "7": the bar, then the slanted stroke, as a mouse draws it (offsets from the
        # canvas's centre).
        for stroke in ([(-60, -80), (60, -80)], [(60, -80), (30, 0), (0, 90)]):
            actions = ActionChains(browser)
            actions.move_to_element_with_offset(canvas, *stroke[0]).click_and_hold()
            for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
                for _ in range(7):
                    actions.move_by_offset(round((x1 - x0) / 7), round((y1 - y0) / 7))
            actions.release().perform()
        # Each stroke sends a request; read the page once the last answer is shown.
        shown = WebDriverWait(browser, 30).until(lambda b: b.execute_script("""
            const box = document.querySelector(".model[data-model=softmax]");
            if (!box || document.getElementById("status").textContent) return null;
            return [box.querySelector(".digit").textContent,
                    box.querySelectorAll(".bar").length];"""))
        assert shown[0] in list("0123456789") and shown[1] == 10
        preview = browser.find_element(By.ID, "input")
        assert preview.get_attribute("src").startswith("data:image/png;base64,")
        assert browser.execute_script("return arguments[0].naturalWidth", preview) == 28
        screenshot = tmp_path / "page.png"
        assert browser.save_screenshot(str(screenshot))
        pixels = image_files.read_image(str(screenshot))
        assert pixels.shape[0] > 300 and pixels.std() > 10  # not blank
        browser.find_element(By.ID, "clear").click()
        assert browser.find_elements(By.CSS_SELECTOR, ".model") == []
    finally:
        browser.quit()


# Dark pixels of the canvas in the box [x0, x1) x [y0, y1) of its 280x280 pixels.
COUNT_DARK = """
    const [x0, y0, x1, y1] = arguments;
    const pixels = document.getElementById("canvas").getContext("2d")
        .getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) dark += pixels[i] < 128;
    return dark;"""


@pytest.mark.slow
def test_a_photo_replaces_the_drawing_and_drawing_again_starts_afresh(server, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # A 200x100 photo, white with its right half black: fitted on the canvas, 280x140 from
    # row 70, black from column 140.
    photo = np.full((100, 200), 255, np.uint8)
    photo[:, 100:] = 0
    Image.fromarray(photo).save(tmp_path / "photo.png")
    browser = _browser()
    try:
        browser.get("http://%s:%d/" % server)
        canvas = browser.find_element(By.ID, "canvas")
        scale = 280 / canvas.size["width"]  # canvas pixels per CSS pixel

        def stroke(x0, y0, x1, y1):  # in canvas pixels
            ActionChains(browser).move_to_element_with_offset(
                canvas, round((x0 - 140) / scale), round((y0 - 140) / scale)).click_and_hold() \
                .move_by_offset(round((x1 - x0) / scale), round((y1 - y0) / scale)) \
                .release().perform()

        stroke(20, 30, 260, 30)  # a bar along the top, where the photo leaves white
        assert browser.execute_script(COUNT_DARK, 0, 0, 280, 60) > 1000
        browser.find_element(By.ID, "file").send_keys(str(tmp_path / "photo.png"))
        WebDriverWait(browser, 20).until(
            lambda b: b.execute_script(COUNT_DARK, 150, 80, 270, 200) == 120 * 120)
        assert browser.execute_script(COUNT_DARK, 0, 0, 280, 60) == 0  # the drawing is gone
        assert browser.execute_script(COUNT_DARK, 0, 80, 130, 200) == 0
        stroke(20, 30, 100, 30)  # drawing again: the photo goes, the new stroke alone stays
        assert browser.execute_script(COUNT_DARK, 150, 80, 270, 200) == 0
        assert browser.execute_script(COUNT_DARK, 0, 0, 140, 60) > 300
    finally:
        browser.quit()


def test_the_measured_strokes_use_the_pages_pen():
    with open(draw.PAGE) as f:
        page = f.read()
    assert "const PEN_WIDTH = %d;" % strokes.PEN_WIDTH in page
    assert 'width="%d" height="%d"' % (strokes.CANVAS_SIZE, strokes.CANVAS_SIZE) in page


@pytest.mark.parametrize("headers, status, words", [
    ({"Host": "evil.example:8000"}, 421, "answers requests for"),
    ({"Host": "127.0.0.1.nip.io"}, 421, "answers requests for"),
    ({"Content-Type": "text/plain"}, 415, "must be application/json, not 'text/plain'"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "must be application/json"),
])
def test_requests_from_other_sites_are_refused(server, shared_tiny_dir, headers, status, words):
    body = classify_request(a_drawn_digit(shared_tiny_dir))
    got, reply = request(server, "POST", "/classify", body, headers)
    assert got == status and words in reply["error"]
    if "Host" in headers:
        assert request(server, "GET", "/models", None, headers)[0] == 421
    assert request(server, "POST", "/classify", body)[0] == 200


def test_models_are_named_without_the_machines_paths(server):
    status, loaded = request(server, "GET", "/models")
    assert status == 200 and loaded["models"] == {"softmax": os.path.join("softmax_mnist", "1")}


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000,
                                  '{"image": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_json_nested_too_deeply_is_a_400(server, body):
    status, reply = request(server, "POST", "/classify", body)
    assert status == 400 and "nested too deeply" in reply["error"]


def test_a_nan_pixel_is_a_422(server):
    import io
    from PIL import Image

    pixels = np.full((50, 50), 200, np.float32)
    pixels[10, 10] = np.nan
    buffer = io.BytesIO()
    Image.fromarray(pixels, "F").save(buffer, "TIFF")
    body = json.dumps({"image": base64.b64encode(buffer.getvalue()).decode()})
    status, reply = request(server, "POST", "/classify", body)
    assert status == 422 and "not numbers (NaN or infinity)" in reply["error"]


def test_a_client_that_hangs_up_is_one_line_on_stderr(trained_runs, shared_tiny_dir, capfd,
                                                      monkeypatch):
    models, missing = draw.load_models()
    httpd = draw.serve("127.0.0.1", 0, models, missing)  # not quiet: it says what happened
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    reply = draw.Handler.reply

    def hung_up(self, status, *args, **kwargs):  # as writing to a client that has gone
        if self.path == "/classify":
            raise BrokenPipeError(32, "Broken pipe")
        return reply(self, status, *args, **kwargs)

    monkeypatch.setattr(draw.Handler, "reply", hung_up)
    try:
        for _ in range(3):
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                request(httpd.server_address, "POST", "/classify",
                        classify_request(a_drawn_digit(shared_tiny_dir)))
        assert request(httpd.server_address, "GET", "/models")[0] == 200  # still serving
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.count("draw.py: a request from 127.0.0.1 failed: BrokenPipeError: [Errno 32] "
                     "Broken pipe\n") == 3


def all_slots_given_back(httpd):
    """Waits until the server holds none of its draw.MAX_CONNECTIONS slots. (Polling with
    requests raced: a request that has its reply may hold its slot a moment longer.)"""
    for _ in range(draw.MAX_CONNECTIONS):
        assert httpd.connections.acquire(timeout=30), "a connection slot was never given back"
    for _ in range(draw.MAX_CONNECTIONS):
        httpd.connections.release()


def test_a_stalled_upload_is_dropped_and_connections_are_bounded(trained_runs, monkeypatch):
    import socket

    monkeypatch.setattr(rundirs, "RUNS_DIR", trained_runs)
    monkeypatch.setattr(draw, "MAX_CONNECTIONS", 2)
    monkeypatch.setattr(draw, "SLOT_WAIT_S", 0)  # a third connection is refused at once
    monkeypatch.setattr(draw.Handler, "timeout", 3)
    models, missing = draw.load_models()
    httpd = draw.serve("127.0.0.1", 0, models, missing, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        stalled = []
        for _ in range(2):  # each promises 1 MB, sends 10 bytes and stalls
            client = socket.create_connection(httpd.server_address, timeout=30)
            client.sendall(b"POST /classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                           b"application/json\r\nContent-Length: 1000000\r\n\r\n0123456789")
            stalled.append(client)
        # Both slots are taken: a third client is told so at once.
        status, reply = request(httpd.server_address, "GET", "/models")
        assert status == 503 and "retry" in reply["error"]
        for client in stalled:  # each stalled upload ends in a 408 after the time-out
            reply = client.makefile("rb").read()
            assert reply.startswith(b"HTTP/1.0 408"), reply[:80]
            client.close()
        all_slots_given_back(httpd)
        assert request(httpd.server_address, "GET", "/models")[0] == 200
    finally:
        httpd.shutdown()
        httpd.server_close()


def _read_reply(client, seconds):
    """The bytes the server sends before it closes, or what came within `seconds`."""
    client.settimeout(seconds)
    reply = b""
    try:
        while True:
            data = client.recv(65536)
            if not data:
                return reply
            reply += data
    except OSError:  # socket.timeout: no more within the time
        return reply


def test_an_upload_that_trickles_ends_at_the_requests_deadline(server, monkeypatch):
    import socket

    monkeypatch.setattr(draw, "REQUEST_DEADLINE_S", 2)
    monkeypatch.setattr(draw.Handler, "timeout", 30)  # no pause is long: each read gets a byte
    client = socket.create_connection(server, timeout=30)
    started = time.monotonic()
    client.sendall(b"POST /classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                   b"application/json\r\nContent-Length: 1000\r\n\r\n{")
    for byte in b'"image"':  # a byte each 0.2 s, as a slow-loris client sends
        time.sleep(0.2)  # (the pace of the attack, not a wait for an event)
        client.sendall(bytes([byte]))
    reply = _read_reply(client, 10)
    client.close()
    assert reply.startswith(b"HTTP/1.0 408"), reply[:80]
    assert b"not sent within 2 s" in reply
    assert time.monotonic() - started < 6  # the deadline, not the 30 s of a pause


def test_idle_connections_beyond_the_limit_are_refused_at_once(trained_runs, monkeypatch):
    import socket

    monkeypatch.setattr(rundirs, "RUNS_DIR", trained_runs)
    monkeypatch.setattr(draw, "MAX_CONNECTIONS", 4)
    models, missing = draw.load_models()
    httpd = draw.serve("127.0.0.1", 0, models, missing, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    idle = [socket.create_connection(httpd.server_address) for _ in range(12)]
    try:
        started = time.monotonic()  # the 8 beyond the limit do not make it wait in turn
        status, reply = request(httpd.server_address, "GET", "/models")
        assert time.monotonic() - started < 3
        assert status == 503 and "retry" in reply["error"]
        for client in idle:
            client.close()
        all_slots_given_back(httpd)
        assert request(httpd.server_address, "GET", "/models")[0] == 200
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_request_whose_client_is_gone_is_not_prepared(server, shared_tiny_dir, monkeypatch):
    import socket

    turn_asked, turn_given = threading.Event(), threading.Event()

    class Turn:  # PREPARING, held until the test gives the turn
        def acquire(self, timeout):
            turn_asked.set()
            return turn_given.wait(timeout)

        def release(self):
            pass

    prepared, answered = [], threading.Event()
    answer = draw.answer

    def answer_and_tell(*args):
        try:
            return answer(*args)
        finally:
            answered.set()

    monkeypatch.setattr(draw, "PREPARING", Turn())
    monkeypatch.setattr(draw, "prepare", lambda image: prepared.append(image))
    monkeypatch.setattr(draw, "answer", answer_and_tell)
    body = classify_request(a_drawn_digit(shared_tiny_dir)).encode()
    client = socket.create_connection(server, timeout=30)
    client.sendall(b"POST /classify HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                   b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert turn_asked.wait(30)
    client.close()  # the client gives up while the image waits for its turn
    turn_given.set()
    assert answered.wait(30)
    assert prepared == []
    assert request(server, "GET", "/models")[0] == 200  # the server goes on


@pytest.mark.slow
def test_a_photo_of_a_number_reads_as_its_digits_on_the_page(server, tmp_path):
    """A number dropped on the page reads as classify.py reads it: each model shows the
    number, and the models' input is its digits' 28x28s side by side."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path = real_digits_png((1, 0, 4), tmp_path)  # 2, 7 and 4
    browser = _browser()
    try:
        browser.get("http://%s:%d/" % server)
        browser.find_element(By.ID, "file").send_keys(str(path))
        shown = WebDriverWait(browser, 30).until(lambda b: b.execute_script("""
            const box = document.querySelector(".model[data-model=softmax]");
            if (!box) return null;
            return [box.querySelector(".digit").textContent,
                    box.querySelectorAll(".bar").length,
                    document.getElementById("seen-caption").textContent];"""))
        assert len(shown[0]) == 3 and shown[0].isdigit() and shown[1] == 0
        assert shown[2] == "what the models saw: 3 digits, each 28\u00d728"
        preview = browser.find_element(By.ID, "input")
        assert browser.execute_script("return arguments[0].naturalWidth", preview) == 84
    finally:
        browser.quit()
