"""Pure release logic of the Involution delivery program: config, versions, phases, nginx."""
