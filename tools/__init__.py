"""Command-line tools around the program: render, check, benchmark."""
