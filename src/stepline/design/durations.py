"""ISO 8601 durations as step timeouts and retry intervals use them (`PT5M`, `P1DT2H`, `PT0.5S`)."""

from __future__ import annotations

import re

# Days, hours, minutes and seconds only: years and months have no fixed length in seconds.
_DURATION = re.compile(
    r"P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)

_SECONDS_PER_UNIT = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}

_FORMAT_HINT = "use an ISO 8601 duration such as PT30S, PT5M, PT1H30M or P1DT12H"


def parse_duration(text: str) -> float:
    """Parse an ISO 8601 duration of the form `PnDTnHnMnS` into seconds.

    Every part is optional but at least one is required, and `T` must be followed by a
    time part. Only the seconds may have a fraction, written with '.' or ',' (`PT1.5S`).
    Raises ValueError naming the text when it is not such a duration.
    """
    match = _DURATION.fullmatch(text)
    if match is None or text.endswith(("P", "T")):
        raise ValueError(f"invalid duration {text!r}: {_FORMAT_HINT}")

    total = 0.0
    for unit, seconds_per_unit in _SECONDS_PER_UNIT.items():
        amount = match.group(unit)
        if amount is not None:
            total += float(amount.replace(",", ".")) * seconds_per_unit
    return total
