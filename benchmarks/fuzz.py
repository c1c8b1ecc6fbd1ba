"""Fuzz every reader of untrusted input (the harness is :mod:`pot.fuzz`, where the table is explained).

Run (the first run builds the tiny circuit and one honest bundle, a few minutes)::

    python benchmarks/fuzz.py --cases 10000 --workers 2
    python benchmarks/fuzz.py --targets bundle --only 1234      # replay one case, verbosely
    python benchmarks/fuzz.py --limits       # the largest input each limit lets through
"""

import sys

from pot.fuzz import main

if __name__ == "__main__":
    sys.exit(main())
