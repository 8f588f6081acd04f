"""Deep implicit imitation reinforcement learning (DIIQN, HA-DIIQN) and baselines on MinAtar.

One module per idea: ``envs`` (MinAtar wrapper, bit-packed states), ``nets``, ``replay``
(uniform and prioritized), ``learner`` (the shared Double-DQN update), ``loop`` (the one training
loop), ``dqn``, ``runs`` (run folders, provenance, atomic writes), ``config`` (``--set``), ``cli``.
"""

__version__ = "0.1.0"
