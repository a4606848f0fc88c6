"""One module per subcommand: parse options, call the core, render, pick the exit code."""
