"""The shared machinery every agent trains with: networks, replay, the one Double-DQN update,
acting and evaluation, checkpoints, the one training loop.
"""
