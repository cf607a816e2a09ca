"""Trainyard worker agent: connects a training host to the orchestrator over ZeroMQ.

The agent process (agent.py) must start fast, so nothing here imports torch; the trainer package runs
in its own process per run.
"""

__version__ = "0.1.0"
