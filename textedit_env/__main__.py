"""``python -m textedit_env``: the ``textedit`` command (train, eval, collect, play)."""

import sys

from agents.cli import main

sys.exit(main())
