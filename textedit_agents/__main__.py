"""``python -m textedit_agents``: the ``textedit`` command (train, eval, collect, play)."""

import sys

from textedit_agents.cli import main

sys.exit(main())
