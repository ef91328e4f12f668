"""CLI commands: batch (registered on allocator.cli.app)."""
