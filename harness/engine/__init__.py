"""The real engine for tests and benchmarks: project copies and their templates, fresh clones,
the README's walk, the program's moved clock, the Go runtime the engine's processes run with."""
