"""The one way every command runs: plan, then (unless it is a dry run) execute.

:func:`plan` checks everything that can be checked before any PC is contacted
(targets, every PC's script values, every connection, the passwords) and
returns a :class:`Plan`; a dry run stops there and asks the plan for its
scripts. :class:`Execution` runs a plan on one PC or many through the same
scheduler, applying the job's steps (the doctor's judging) to each outcome and
handing each PC's report to the sinks (audit log, report file, the caller's
own). The CLI is a sequence of these calls, with the confirmation and drawing
in between; another tool can make the same calls.
"""

from __future__ import annotations

from qbd_fix.pipeline.execute import Execution, Sinks
from qbd_fix.pipeline.plan import LOCAL, Job, Plan, plan, resolve_targets

__all__ = ["LOCAL", "Execution", "Job", "Plan", "Sinks", "plan", "resolve_targets"]
