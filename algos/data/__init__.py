"""The suboptimal experts and their state-only datasets (true actions kept apart, for scoring
only).
"""
