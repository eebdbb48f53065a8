"""Pulumi components of the Involution delivery program, one module each."""
