"""`python -m involution`: the `involution` command. The one module of the domain package that
reaches above it: the command is named after the project (its code lives in `cli/`)."""

from cli.main import main

raise SystemExit(main())
