"""The stack config contract's parts, each read from raw config text into frozen settings."""
