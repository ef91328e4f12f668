"""Readers and writers: instances (JSON, YAML, CSV folders) and plans."""

from allocator.io.instance_files import atomic_write_text, load_instance, write_instance
from allocator.io.plan_files import load_plan, write_plan, write_sorties_csv

__all__ = [
    "atomic_write_text",
    "load_instance",
    "load_plan",
    "write_instance",
    "write_plan",
    "write_sorties_csv",
]
