"""What tests, tools and benchmarks share: the mocked program run, the engine project copy,
stand-in engines behind a real nginx, load clients and the release scenarios.

Nothing here imports pytest or `tests`: a failure to find a tool is an exception
(`tooling.ToolMissing`) that tests turn into a failure under CI or a skip elsewhere.
"""
