"""A tiny but real world-model family used to test the core as a third-party plugin would."""
