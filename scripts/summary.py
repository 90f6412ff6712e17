"""Print what the demo built (scripts/demo.sh); the logic lives in cli/summary.py (also `readiness demo`)."""

import sys

from cli.store import CliError, warehouse_path
from cli.summary import print_summary

try:
    print_summary(warehouse_path())
except CliError as error:
    sys.exit(str(error))
