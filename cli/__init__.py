"""The `involution` command: the operator's and CI's way to run releases (see README.md)."""
