"""Deep implicit imitation reinforcement learning (DIIQN, HA-DIIQN) and baselines on MinAtar.

The packages follow the data flow, bottom up: ``errors``, ``config`` (``--set``), ``seeds`` and
``algorithms`` (every algorithm's settings and the registry, without torch) at the bottom;
``envs`` (MinAtar and the mazes); ``provenance`` (run folders, seals, read-back checks, MKL's
pin); ``training`` (networks, replay, the one Double-DQN update, acting, checkpoints, the one
loop); ``data`` (experts and their state-only datasets); ``agents`` (one module per method,
DIIQN's parts in ``agents.diiqn``); ``evidence`` (a config's experiments to aggregates,
statistics, claims, tables and figures), which never imports ``training`` or ``agents``;
``train`` (a run, its spot check and an expert, trained from the command line's inputs); and
``cli`` (``python -m algos``) on top.
"""

from algos.provenance import mkl_vendor

__version__ = "0.1.0"

# Before anything imports torch: the same kernels, so the same results, on every CPU with AVX2
# (algos/provenance/mkl_vendor.py says why).
mkl_vendor.pin()
