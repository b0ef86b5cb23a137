"""Side-by-side speed against peer implementations, each in its own interpreter, alternating in one run.

``python -m benchmarks.peers.tdmpc2`` times the native TD-MPC2 against the
official code (see that module). A worker process per side loads its code once
and answers timing requests over a pipe; the driver asks the sides in turn,
so both see the same machine state, and prints medians, ratios and load.
"""
