"""allocator: air asset allocation optimizer for border air operations."""

__version__ = "0.1.0"
