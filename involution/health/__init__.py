"""Release health: the report's figures and targets, blast radius, formats and metric names."""
