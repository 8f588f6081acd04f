"""The files the repository shipped before their kind was sealed, by the SHA-256 of their bytes.

A reader accepts a file without its seal (an ``expert.json`` or dataset description without
``sealed_sha256``, a finished run whose ``run.json`` has no ``config_sha256``) only where it is
byte for byte one of these: a seal deleted, or an old file changed, is not taken for an old
file (``readers``, ``runs.seal_problem``). The lists are closed: every file written since
carries its seal, so nothing is ever added here.
"""

from __future__ import annotations

EXPERT_DESCRIPTIONS = frozenset({
    "d567e4c2f1ab57bcb321adf4ad37bfdd9ec5b541973a4a4b06660d4b980a2d0e",  # breakout
    "e5cd1810c7205b91382b8af1e133fbafcaca54cb8005c19c08eefbd50d8d15e3",  # freeway
    "3b60880999ed9f842fd8a3a44ff803b19f52fe2a57a8fa38af03296b14ee1faf",  # grid_maze
    "cb2e7c220d25323a474127453d60d82e6d00824e6e6f6cf5d38682e1d72eafa0",  # point_maze
    "53bf9f491ebee91c25072af870a15fc8a8d983093dbd0d582c55cf2292582d25",  # space_invaders
})
"""``results/experts/{env}/expert.json`` written before ``sealed_sha256`` (and
``policy_sha256``)."""

DATASET_DESCRIPTIONS = frozenset({
    "ede65c1156afbcff0f69bc787f7309a8b902533f8bf6fa010ce4425b30223771",  # breakout/n30000
    "7e2aec3621a2d1b839e417e23e5a981786a8f3f226528439050041b9d01ed8a6",  # grid_maze/n30000
    "389286c302eea0a2291740cb0828987ce374c20b88eac33bde2fe5e63f053dd4",  # point_maze/n30000
    "5ab2a8be1b3fbdaec82ea8ff6eab6eb86c1adc36a9eebe870b82c17f5ed39fd3",  # space_invaders/n30000
})
"""``results/datasets/{env}/n{size}.json`` written before ``sealed_sha256``."""

RUN_CONFIGS = frozenset({
    # results/experts/freeway/train
    "b73987ed6b46f51633c8668192d756dfa1f591117529f9620a07a8cc606d12f9",
    # results/stale/grid_maze/diiqn/heterogeneous/seed1-shared1-diiqn1
    "f3df9084726b4439e5365e2a00262a730c12147cb054b9616646b6dc218a2cff",
    # results/stale/point_maze/dqn/heterogeneous/seed0-shared1-dqn1
    "086f694733360a6de800b72d00df452e66d02496c2da4672c9fcedad2bdd62b8",
    # results/stale/space_invaders/oril/default/seed0-shared1-oril1
    "2c9f6eabfef961334c1c00aa06c5d471f9c49b852840f849ad8a3901a2c54306",
})
"""The ``config.json`` of the finished runs whose ``run.json`` was written before it recorded
the run's identity (``config_sha256``): without it, nothing but this list ties the config to
the run."""
