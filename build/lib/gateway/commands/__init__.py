"""One module per ``lastmile`` subcommand, each with ``register(subcommands)``."""
