"""Where job stores written before the package move look for the pickled cron trigger class.

Unpickling ``exporter.triggers.OncePerWallTimeCronTrigger`` gives the class at its new home; the
service stores it again under the new path when it starts.
"""

from .schedule.triggers import OncePerWallTimeCronTrigger

__all__ = ["OncePerWallTimeCronTrigger"]
