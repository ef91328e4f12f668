"""CLI commands: whatif (registered on allocator.cli.app)."""
