"""Where job stores written before the package move look for the scheduled job's function.

A stored job names ``exporter.service:scheduled_build``; the service rewrites such jobs to the new
path when it starts (`exporter.schedule.service.sync_jobs`), and this alias keeps them loadable until then.
"""

from .schedule.service import scheduled_build

__all__ = ["scheduled_build"]
