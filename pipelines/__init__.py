"""Dagster code location: wires sources/, indicators/ and warehouse/ into assets, checks, jobs, schedules."""

import pandas as pd

# Copy-on-write (pandas 3's only mode): selections and assign share the data until written, instead of
# copying every column of multi-million-row frames. The Breitbandatlas staging step peaked 1,903 MiB without
# it and 1,384 MiB with it (docs/performance-log.md); the published warehouse is the same either way (0 rows differ).
# Set here and in cli/ (the two entry points) and tests/conftest.py (tests run as production does).
pd.set_option("mode.copy_on_write", True)
