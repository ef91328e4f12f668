"""CLI commands beyond solve/check/schema/generate, one module per area; each registers on `allocator.cli.app`."""
