"""The leaderboard's map browser: the recorded sources, the thumbnails, the page's JSON, moved folders,
and a real headless Chromium paging, sorting and opening a row without any network request."""

from __future__ import annotations

import json
import re
import shutil

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.evaluation import evaluate, load_result
from dbdbench.imageio import write_image
from dbdbench.leaderboards.browser import PAGE_ROWS, THUMB

N = 45  # three pages of PAGE_ROWS = 20


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """45 photos, GT stored blurred-white (left part blurred), a fair method and a noisy one."""
    root = tmp_path_factory.mktemp("browser")
    rng = np.random.default_rng(4)
    h, w = 48, 200  # wider than a thumbnail: thumbnails are downscaled
    for i in range(N):
        name = f"img{i:02d}"
        cut = 20 + 3 * i
        blurred = np.zeros((h, w), np.uint8)
        blurred[:, :cut] = 255
        write_image(root / "gt" / f"{name}.png", blurred)
        write_image(root / "image" / f"{name}.jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        focus = 255 - blurred.astype(float)
        for m, noise in (("fair", 60), ("noisy", 200)):
            pred = np.clip(focus + rng.normal(0, noise, (h, w)), 0, 255).astype(np.uint8)
            write_image(root / m / f"{name}.png", pred)
    paths = []
    for m in ("fair", "noisy"):
        r = evaluate(root / m, root / "gt", gt_polarity="blurred-white", protocol="sod")
        paths.append(r.save(root / "results" / f"{m}.json"))
    out = root / "board"
    res = CliRunner().invoke(
        main, ["leaderboard", *map(str, paths), "--images", str(root / "image"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    return root, out, paths, res.output


def test_results_record_their_sources(board):
    root, _, paths, _ = board
    r = load_result(paths[0])
    assert r.sources["pred_dir"] == str((root / "fair").resolve())
    assert r.sources["gt_dir"] == str((root / "gt").resolve()) and r.sources["gt_polarity"] == "blurred-white"
    data = json.loads(paths[0].read_text())
    del data["sources"]  # a result of an older release loads without them
    old = root / "old.json"
    old.write_text(json.dumps(data))
    assert load_result(old).sources is None


def _blob(html: str) -> dict:
    m = re.search(r'<script type="application/json" class="mb-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_thumbnails_and_compact_page(board):
    _, out, _, output = board
    files = sorted(
        p.relative_to(out / "browser").as_posix() for p in (out / "browser").rglob("*") if p.is_file()
    )
    assert len(files) == N * 4 * 2  # photo, GT and two maps; thumbnail and large view each
    assert "map browser" in output
    html = (out / "index.html").read_text()
    blob = _blob(html)
    assert [m["t"] for m in blob["methods"]] == ["fair", "noisy"] and len(blob["rows"]) == N
    per_image = len(html[html.index('class="mb-data">') :].split("</script>")[0]) / N
    assert per_image < 120, per_image  # a few dozen bytes per image; pictures live beside the page
    # the GT thumbnail is white = in-focus: the stored mask is blurred-white, so it is inverted
    row = blob["rows"][10]  # img10: the blurred left part is 50 of 200 pixels
    gt_col = next(c for c in blob["cols"] if c["k"] == "gt")
    thumb = cv2.imread(str(out / blob["base"] / gt_col["d"] / f"{row[1]}.png"), cv2.IMREAD_UNCHANGED)
    assert max(thumb.shape) == THUMB and thumb.shape[1] == THUMB
    assert thumb[:, :30].max() == 0 and thumb[:, 60:].min() == 255
    photo = cv2.imread(str(out / blob["base"] / "image" / f"{row[1]}-full.jpg"))
    assert photo.shape[:2] == (48, 200)  # small photos keep their size in the large view


@pytest.mark.slow  # three leaderboards
def test_moved_maps_are_one_note_and_can_be_pointed_at(board, tmp_path):
    root, _, paths, _ = board
    moved = tmp_path / "noisy-moved"
    shutil.copytree(root / "noisy", moved)
    gone = tmp_path / "gone"
    shutil.copytree(root / "results", gone)
    data = json.loads((gone / "noisy.json").read_text())
    data["sources"]["pred_dir"] = str(tmp_path / "nowhere")
    (gone / "noisy.json").write_text(json.dumps(data))
    args = ["leaderboard", str(gone / "fair.json"), str(gone / "noisy.json")]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b1")])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if "no longer in" in line]
    assert len(notes) == 1 and "'noisy'" in notes[0] and "--pred noisy=DIR" in notes[0]
    blob = _blob((tmp_path / "b1" / "index.html").read_text())
    assert [m["d"] is None for m in blob["methods"]] == [False, True]
    assert (tmp_path / "b1" / "leaderboard.md").is_file()  # the tables are still built
    res = CliRunner().invoke(main, [*args, "--pred", f"noisy={moved}", "--out", str(tmp_path / "b2")])
    assert res.exit_code == 0 and "no longer in" not in res.stderr
    assert all(m["d"] for m in _blob((tmp_path / "b2" / "index.html").read_text())["methods"])
    res = CliRunner().invoke(main, [*args, "--no-browser", "--out", str(tmp_path / "b4")])
    assert res.exit_code == 0 and not (tmp_path / "b4" / "browser").exists()
    assert 'class="mb"' not in (tmp_path / "b4" / "index.html").read_text()
    res = CliRunner().invoke(main, [*args, "--pred", f"other={moved}", "--out", str(tmp_path / "b3")])
    assert res.exit_code == 2 and "no result has method 'other'" in res.stderr
    assert not (tmp_path / "b3").exists()


def _driver(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (extra 'test')")
    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "headless chromium / chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"):  # fmt: skip
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # the DevTools network log
    return webdriver.Chrome(service=Service(chromedriver), options=opts)


@pytest.mark.slow
def test_browser_in_headless_chromium(board, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _, out, paths, _ = board
    f = {m: {r["name"]: r["max_f"] for r in json.loads(p.read_text())["per_image"]} for m, p in
         zip(("fair", "noisy"), paths, strict=True)}  # fmt: skip
    driver = _driver(tmp_path)
    try:
        driver.set_page_load_timeout(60)
        driver.get((out / "index.html").as_uri())
        sec = driver.find_element(By.CSS_SELECTOR, "section.mb")
        label = sec.find_element(By.CLASS_NAME, "mb-page")
        assert label.text == f"page 1 of 3 ({N} images)"

        def names():
            return [tr.get_attribute("data-name") for tr in sec.find_elements(By.CSS_SELECTOR, "tbody tr")]

        assert names() == [f"img{i:02d}" for i in range(PAGE_ROWS)]
        sec.find_element(By.CLASS_NAME, "mb-next").click()
        assert label.text.startswith("page 2 of 3") and names()[0] == f"img{PAGE_ROWS:02d}"
        sec.find_element(By.CLASS_NAME, "mb-next").click()
        assert len(names()) == N - 2 * PAGE_ROWS

        sort = Select(sec.find_element(By.CLASS_NAME, "mb-sort"))
        sort.select_by_value("m1")  # the noisy method's F, ascending: its worst images first
        assert label.text.startswith("page 1 of 3")
        want = sorted(f["noisy"], key=lambda n: (round(f["noisy"][n], 4), int(n[3:])))
        assert names() == want[:PAGE_ROWS]
        shown = [
            float(s.text.split()[-1])
            for s in sec.find_elements(By.CSS_SELECTOR, "tbody tr td:last-child .mb-s")
        ]
        assert shown == sorted(shown) and shown[0] == pytest.approx(f["noisy"][want[0]], abs=5e-4)
        sec.find_element(By.CLASS_NAME, "mb-dir").click()
        assert names()[0] == want[-1]
        sort.select_by_value("spread")  # the largest disagreement first
        spread = {n: abs(round(f["fair"][n], 4) - round(f["noisy"][n], 4)) for n in f["fair"]}
        assert names()[0] == max(spread, key=lambda n: (spread[n], -int(n[3:])))

        sec.find_element(By.CSS_SELECTOR, "tbody tr").click()  # the large view
        full = sec.find_element(By.CLASS_NAME, "mb-full")
        assert full.is_displayed()
        WebDriverWait(driver, 30).until(
            lambda d: d.execute_script(
                "var i=arguments[0].querySelectorAll('img');return i.length===4&&"
                "Array.prototype.every.call(i,function(x){return x.complete&&x.naturalWidth>0;});",
                full,
            )
        )
        full.find_element(By.CLASS_NAME, "mb-close").click()
        assert not full.is_displayed()
        # the DevTools network log: nothing went to the network, and the page asked only for files
        events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
        sent = [m["params"] for m in events if m["method"] == "Network.requestWillBeSent"]
        urls = [p["request"]["url"] for p in sent]
        assert not [u for u in urls if u.split(":")[0] in ("http", "https", "ws", "wss", "ftp")]
        page = [p["request"]["url"] for p in sent if p.get("documentURL") == (out / "index.html").as_uri()]
        assert page and all(u.startswith(("file:", "data:")) for u in page), page
        assert any("/browser/" in u for u in page)  # the thumbnails of the pages shown, the large view
        assert sum("/browser/" in u for u in page) <= 4 * 3 * PAGE_ROWS + 4  # lazy: not all 360 files
    finally:
        driver.quit()


def test_a_missing_photo_folder_is_an_error_before_any_output(board, tmp_path):
    _, _, paths, _ = board
    out = tmp_path / "b"
    res = CliRunner().invoke(
        main, ["leaderboard", *map(str, paths), "--images", str(tmp_path / "none"), "--out", str(out)]
    )
    assert res.exit_code == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "--images folder" in res.stderr and "none" in res.stderr and not out.exists()
