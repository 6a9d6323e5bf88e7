"""Scheduling: the timetable, triggers with cron's behaviour at DST changes, the APScheduler
service, crontab lines, and `run_job`, the one call both the service and cron make.

May import: runs and everything below it.
"""
