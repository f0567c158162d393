"""Citizen-guidance chatbot for a Zalo Official Account of a Vietnamese people's committee."""

import os

# One BLAS thread per process, set before numpy loads (numpy comes in through the bot's own
# modules). A message's vector is compared with the knowledge base in one small matrix
# product; OpenBLAS would run it on a thread per core whose waiting spins, and beside the turn
# worker's and the sender's threads those spinning threads took half the scheduler's CPU
# (bench/webhook_bench.py: 15.1 -> 7.6 ms CPU per citizen event). The turn worker runs its
# messages in parallel in threads of its own. A value set in the environment is kept.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

__version__ = "0.1.0"
