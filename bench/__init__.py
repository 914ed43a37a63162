"""`make bench`: a benchmark that tells the truth (see bench/run.py)."""
