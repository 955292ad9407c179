from __future__ import annotations

import pytest

from stepline.design import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT5M", 300.0),
        ("PT30S", 30.0),
        ("PT1H30M", 5400.0),
        ("P1D", 86400.0),
        ("P1DT12H", 129600.0),
        ("P2DT3H4M5S", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("PT0.5S", 0.5),
        ("PT1,25S", 1.25),
        ("PT0S", 0.0),
        ("PT90M", 5400.0),
        ("PT36H", 129600.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "5M",
        "pt5m",
        "PT5",
        "P1Y",
        "P1M",
        "P1W",
        "PT1.5M",
        "PT-5S",
        "PT5S ",
        "T5M",
        "PT5M1H",
        "P1.5D",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)

    assert repr(text) in str(caught.value)
    assert "ISO 8601" in str(caught.value)
