"""``python -m journeyflow.cli …``: the same as the ``journeyflow`` command (for child processes that have only
``sys.executable``, e.g. ``make bench-scale``)."""
import sys

from journeyflow.cli import main

sys.exit(main())
