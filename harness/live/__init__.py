"""Live traffic on this machine: a real nginx and Prometheus, stand-in engines, load clients,
and the scenarios the live tests and benchmarks share."""
