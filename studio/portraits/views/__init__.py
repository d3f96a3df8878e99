from __future__ import annotations

# The HX-Trigger event a page's own poller sends when it sees a job finish (the worker's change, which no
# request of the user's announces): the navbar's queue badge and the "Today" line listen for it.
JOBS_CHANGED = "jobsChanged"
