"""Run folders and their seals, read-back checks, what a rerun finds on disk, and MKL's pin (the
same results on every CPU).
"""
