"""The browser tests' screenshots rewrite the README's committed images only when asked
(HARNESS_SCREENSHOTS=1); otherwise `make test` writes them under the test's tmp_path."""

from __future__ import annotations

from tests.browser import SCREENSHOTS, screenshots_dir


def test_screenshots_stay_in_the_tests_tmp_path_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_SCREENSHOTS", raising=False)
    assert screenshots_dir(tmp_path) == tmp_path / "screenshots"
    monkeypatch.setenv("HARNESS_SCREENSHOTS", "0")
    assert screenshots_dir(tmp_path) == tmp_path / "screenshots"
    monkeypatch.setenv("HARNESS_SCREENSHOTS", "1")
    assert screenshots_dir(tmp_path) == SCREENSHOTS
    assert SCREENSHOTS.parts[-2:] == ("docs", "screenshots")
