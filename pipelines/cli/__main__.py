"""``python -m pipelines.cli ...`` runs the ``prm-factory`` command line."""
import sys

from pipelines.cli.main import main

sys.exit(main())
