"""CLI commands: explain (registered on allocator.cli.app)."""
