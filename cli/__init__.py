"""The `readiness` command (cli/main.py)."""

import pandas as pd

pd.set_option("mode.copy_on_write", True)  # as the pipelines run (why: pipelines/__init__.py)
