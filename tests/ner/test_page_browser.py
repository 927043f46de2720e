"""The page at `/` in a real headless browser: Debian's Chromium driven by Selenium through the
system's chromedriver (nothing is downloaded). Types a sentence, checks the highlighted
entities against the API, clicks a word and checks the explanation.

Skips, saying why, where Chromium, chromedriver or Selenium is missing
(`apt-get install chromium chromium-driver`, `pip install selenium`; `.ci/run` does both).
`DELTAGRAD_NER_MODEL=DIR` serves that model instead of the tests' tiny one, and
`DELTAGRAD_SCREENSHOT=PATH` saves the screenshot there (the README's is docs/ner_page.png:
`DELTAGRAD_NER_MODEL=runs/ner DELTAGRAD_SCREENSHOT=docs/ner_page.png pytest
tests/ner/test_page_browser.py`).
"""

import json
import os
import shutil
import threading
import urllib.request

import pytest

from deltagrad.ner.serve import make_server

SENTENCE = "Peter Blackburn visited Paris on Monday, said the EU."
NEWS = ("EU rejects German call to boycott British lamb. Peter Blackburn, the European "
        "Commission's spokesman in Brussels, said on Wednesday that Germany should follow "
        "the advice of its scientists.")


def _browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="Selenium is not installed (pip install selenium)")
    binary = next((shutil.which(name) for name in ("chromium", "chromium-browser",
                                                   "google-chrome") if shutil.which(name)), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("no system Chromium and chromedriver found: "
                    "apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1900",
                     "--force-device-scale-factor=1"):
        options.add_argument(argument)
    try:
        return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except Exception as error:  # a browser that cannot start here: say so rather than fail
        pytest.skip(f"Chromium did not start: {str(error).splitlines()[0]}")


@pytest.fixture(scope="module")
def page(request, tmp_path_factory):
    model_dir = os.environ.get("DELTAGRAD_NER_MODEL")
    if model_dir:
        from deltagrad.ner.model_dir import load_model

        loaded = load_model(model_dir)
    else:
        loaded = request.getfixturevalue("tiny_model")
    server = make_server(loaded, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    driver = _browser()
    host, port = server.server_address[:2]
    try:
        yield driver, f"http://{host}:{port}"
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def _api(base, text):
    request = urllib.request.Request(f"{base}/predict", data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _tag(driver, text=None, typed=None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.ID, "text")
    box.clear()
    if typed is not None:
        box.send_keys(typed)
    else:  # ChromeDriver types only the Basic Multilingual Plane: set emoji text directly
        driver.execute_script("arguments[0].value = arguments[1];", box, text)
    driver.execute_script("document.getElementById('result').replaceChildren();")
    driver.find_element(By.ID, "tag").click()
    WebDriverWait(driver, 60).until(
        ec.text_to_be_present_in_element((By.ID, "status"), "entities"))
    return driver.find_element(By.ID, "result")


def _marks(result):
    from selenium.webdriver.common.by import By

    return [(m.get_attribute("data-type"), m.get_attribute("title"),
             "".join(t.text for t in m.find_elements(By.CSS_SELECTOR, ".tok")))
            for m in result.find_elements(By.CSS_SELECTOR, "mark.ent")]


def test_typed_text_is_highlighted_and_a_click_explains(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver, base = page
    driver.get(base + "/")
    WebDriverWait(driver, 30).until(
        lambda d: "window of 5 words" in d.find_element(By.ID, "model-info").text)
    result = _tag(driver, typed=SENTENCE)
    expected = _api(base, SENTENCE)
    assert expected["entities"], "the model should find an entity in the test sentence"
    marks = _marks(result)
    assert [(kind, text.replace(" ", "")) for kind, _, text in marks] == [
        (e["type"], e["text"].replace(" ", "")) for e in expected["entities"]]
    for (_, title, _), entity in zip(marks, expected["entities"]):  # confidence on hover
        assert title == f"{entity['type']} · confidence {entity['confidence']:.3g}"

    # Click the first entity's first word: the window, its contributions, the trace graph.
    token = expected["entities"][0]["start"]
    result.find_element(By.CSS_SELECTOR, f'.tok[data-token="{token}"]').click()
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "why").is_displayed())
    assert driver.find_element(By.ID, "why-word").text == expected["tokens"][token]
    rows = driver.find_elements(By.CSS_SELECTOR, "#window tbody tr[data-offset]")
    assert len(rows) == 5  # the window's positions, then at most one row for the other inputs
    assert len(driver.find_elements(By.CSS_SELECTOR, "#window tbody tr.other")) <= 1
    centre = driver.find_element(By.CSS_SELECTOR, '#window tr[data-offset="0"]')
    assert expected["tokens"][token] in centre.text
    values = [float(r.find_element(By.CSS_SELECTOR, ".contribution").text) for r in rows]
    assert any(v != 0 for v in values)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#graph svg g.edge")) >= 10
    assert len(driver.find_elements(By.CSS_SELECTOR, "#edges tbody tr")) >= 10

    driver.execute_script("window.scrollTo(0, 0);")
    shot = os.environ.get("DELTAGRAD_SCREENSHOT")
    if shot:
        # The README's picture: a news paragraph, and why its first entity's word was tagged.
        result = _tag(driver, typed=NEWS)
        record = _api(base, NEWS)
        longer = [e for e in record["entities"] if e["end"] - e["start"] > 1]
        shown = longer[0]["end"] - 1 if longer else record["entities"][0]["start"]
        result.find_element(By.CSS_SELECTOR, f'.tok[data-token="{shown}"]').click()
        WebDriverWait(driver, 60).until(
            lambda d: d.find_element(By.ID, "why-word").text == record["tokens"][shown])
        driver.execute_script("window.scrollTo(0, 0);")
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(max(height + 40, 900), 4000))
        assert driver.save_screenshot(shot)


def test_offsets_survive_emoji_and_right_to_left_text(page):
    driver, base = page
    text = "😀👩🏽‍💻 Peter Blackburn visited Paris , said \u200fשלום\u200f the EU ."
    result = _tag(driver, text=text)
    expected = _api(base, text)
    marks = _marks(result)
    assert [(kind, text) for kind, _, text in marks] == [
        (e["type"], e["text"].replace(" ", "")) for e in expected["entities"]]
    # The type labels are CSS ::after content, not text: the text shown is the text given.
    assert driver.execute_script("return document.getElementById('result').textContent") == text
