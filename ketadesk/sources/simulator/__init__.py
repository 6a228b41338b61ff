"""The built-in physiological simulator: the default source, always labelled SIMULATED."""
