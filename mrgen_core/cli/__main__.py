"""``python -m mrgen_core.cli ...`` (and ``torchrun ... -m mrgen_core.cli train ...``): the ``mrgen`` command."""
import sys

from . import main

sys.exit(main())
