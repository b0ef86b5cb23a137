"""The learning suite: each family's recommended preset on a table of tasks, several seeds, no flags.

    python -m benchmarks.learning --family tdmpc2 --task pendulum --seeds 0 1 2 --parallel 2

Each seed is one ``worldflux train PRESET --env ENV --steps N --seed S`` process (exactly what a user
types), run ``--parallel`` at a time with the cores shared out as torch threads. The result is
``OUT/table.md`` (final evaluation return per seed, mean and spread, wall time; a seed that failed
is listed with its error) and ``OUT/<family>-<task>.png`` (mean over seeds with a 95% bootstrap band,
and every training metric). A run directory that already finished is reused, so the table can be
built up a few tasks at a time.
"""
