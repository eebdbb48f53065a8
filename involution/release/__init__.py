"""The release path and what holds it: steps, soaks, freezes, the stopped line, deployed state."""
