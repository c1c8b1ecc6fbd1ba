"""flower-digits: a Flower app whose rounds are pot rounds (see the README)."""
