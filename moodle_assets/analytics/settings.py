"""The few numbers analytics models measure against: "now", the inactivity threshold and
the pass mark.

"Now" is a setting, not a hidden ``time.time()`` inside SQL, so a run can be reproduced
(yesterday's at-risk list, a test against a fixed demo clock) and every table records the
moment it describes in its ``moodle._loads`` row.
"""

from __future__ import annotations

import re
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from moodle_assets import clock

_PARAM = re.compile(r"\$([a-z_]+)")


class AnalyticsSettings(ConfigurableResource):
    """Settings shared by every analytics model of a run (resource key ``analytics``)."""

    now: int | None = Field(
        default=None,
        description="Unix seconds that 'last 7 days', 'inactive' and 'overdue' are measured from; "
        "empty = the start of the run (the project clock: MOODLE_ASSETS_NOW if set).",
    )
    inactive_days: int = Field(
        default=14, ge=1, description="Days without opening a course after which a learner is at risk."
    )
    pass_percent: float | None = Field(
        default=50.0,
        ge=0,
        le=100,
        description="Score (0-100) counted as a pass. Moodle's web services do not return pass grades; "
        "empty = no pass rates.",
    )

    def now_ts(self) -> int:
        return int(self.now) if self.now is not None else clock.now_ts()

    def params_for(self, sql: str, now: int) -> dict[str, Any]:
        """The named parameters ``sql`` uses (``$now``, ``$inactive_days``, ``$pass_percent``);
        DuckDB refuses values a statement does not ask for."""
        values = {"now": now, "inactive_days": self.inactive_days, "pass_percent": self.pass_percent}
        wanted = set(_PARAM.findall(sql))
        unknown = wanted - set(values)
        if unknown:
            raise ValueError(f"Model SQL uses unknown parameters: {', '.join(sorted(unknown))}")
        return {name: values[name] for name in sorted(wanted)}
