"""The `masklet` subcommands that run models and manage checkpoints, one module per group."""
