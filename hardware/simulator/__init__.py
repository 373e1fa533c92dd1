"""Simulated communities and devices: door logs a generic controller would write.

Public surface (used by ``linli demo`` and the tests)::

    from hardware.simulator import CommunitySpec, Simulation

    sim = Simulation.create(CommunitySpec(seed=1), out_dir)   # community.yaml, agents/*.yaml
    sim.write_history(hours=48)                                # logs/*.jsonl, past 48 h
    sim.follow(stop)                                           # real time until stop is set
    sim.community.stay_in                                      # resident ids who stay in
"""

from hardware.simulator.community import Community, CommunitySpec, generate_community
from hardware.simulator.run import CommunityFiles, Simulation, follow, write_community, write_history

__all__ = [
    "Community",
    "CommunityFiles",
    "CommunitySpec",
    "Simulation",
    "follow",
    "generate_community",
    "write_community",
    "write_history",
]
