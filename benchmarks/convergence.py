"""Convergence of pot's aggregation rules on scikit-learn digits (the study is :mod:`pot.convergence`).

Run: ``python benchmarks/convergence.py [--rounds 100]`` (about a minute on two cores).
"""

from pot.convergence import main

if __name__ == "__main__":
    main()
