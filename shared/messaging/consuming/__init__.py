"""Reliable stream consumption, in parts: reading, applying, claiming, dead letters, groups."""

from .consumer import StreamConsumer, start_consumers, stop_consumers
from .dead_letters import DeadLetters
from .entries import Entry, Parsed, TraceHeaders, is_transient, sampled

__all__ = [
    "DeadLetters",
    "Entry",
    "Parsed",
    "StreamConsumer",
    "TraceHeaders",
    "is_transient",
    "sampled",
    "start_consumers",
    "stop_consumers",
]
