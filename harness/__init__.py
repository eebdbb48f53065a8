"""What tests, tools and benchmarks share: the mocked program run, the release scenarios, and
in subpackages the real engine (`engine`), live traffic on this machine (`live`) and the
local cluster (`cluster`).

Nothing here imports pytest or `tests`: a failure to find a tool is an exception
(`tooling.ToolMissing`) that tests turn into a failure under CI or a skip elsewhere.
"""
