"""Activities and the record timeline (issue 16 §1): what happened with a record, newest first —
logged calls, notes, completed tasks, events (records related to it through their `related_to`
field), emails the automation outbox sent about it, its field history and its files — with its
open tasks on top. Every read goes through the record service or the file service, as the viewer.
"""
from .timeline import KINDS, Timeline, TimelineError

__all__ = ["KINDS", "Timeline", "TimelineError"]
