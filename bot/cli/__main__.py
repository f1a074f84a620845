"""`python -m bot.cli`: the `coopbot` command."""

import sys

from bot.cli.main import main

sys.exit(main())
