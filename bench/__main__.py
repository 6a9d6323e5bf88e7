"""`python3 -m bench` is `python3 bench/run.py`."""

import sys

from bench.run import main

sys.exit(main())
