"""DIIQN: the agent, and its parts another agent can use: the expert-state index (knn), action
inference and the confidence.
"""
