"""Where things are: the data, output and state folders and the timetable and recipients files.

Worked out once, from the command line or the environment, and passed down as one value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .ids import SetId

REPORTS_SUBDIR = "reports"
STATE_SUBDIR = ".exporter"
SCHEDULE_NAME = "schedule.yaml"
RECIPIENTS_NAME = "recipients.yaml"
DATABASES_NAME = "databases.yaml"
SNAPSHOTS_SUBDIR = "tables"
INDEX_NAME = "index.html"
METRICS_NAME = "metrics.prom"


@dataclass(frozen=True)
class Workspace:
    data_dir: Path = Path("data")
    output_dir: Path = Path("output")
    state_dir: Path | None = None  # default OUTPUT/.exporter
    schedule_file: Path | None = None  # default DATA/schedule.yaml
    recipients_file: Path | None = None  # default DATA/recipients.yaml
    metrics_file: Path | None = None  # default STATE/metrics.prom

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / REPORTS_SUBDIR

    @property
    def state(self) -> Path:
        """The folder of the run history, the ledger, the locks and the scheduler's job store."""
        return self.state_dir if self.state_dir is not None else self.output_dir / STATE_SUBDIR

    @property
    def schedule(self) -> Path:
        return self.schedule_file if self.schedule_file is not None else self.data_dir / SCHEDULE_NAME

    @property
    def recipients(self) -> Path:
        return self.recipients_file if self.recipients_file is not None else self.data_dir / RECIPIENTS_NAME

    @property
    def metrics(self) -> Path:
        """The Prometheus textfile written after each run (for node_exporter's textfile collector)."""
        return self.metrics_file if self.metrics_file is not None else self.state / METRICS_NAME

    @property
    def databases(self) -> Path:
        """The databases that query tables name (DATA/databases.yaml)."""
        return self.data_dir / DATABASES_NAME

    @property
    def snapshots(self) -> Path:
        """Where the results of query tables are kept for a build (STATE/tables/<set>/)."""
        return self.state / SNAPSHOTS_SUBDIR

    @property
    def index_page(self) -> Path:
        return self.output_dir / INDEX_NAME

    def set_folder(self, set_id: SetId) -> Path:
        """A published set's folder; its name comes from validated ids only."""
        return self.output_dir / str(set_id)

    def absolute(self) -> Workspace:
        """The same places as absolute paths (for cron lines and the scheduler's stored jobs)."""
        def resolve(path: Path | None) -> Path | None:
            return None if path is None else path.resolve()

        return replace(self, data_dir=self.data_dir.resolve(), output_dir=self.output_dir.resolve(),
                       state_dir=resolve(self.state_dir), schedule_file=resolve(self.schedule_file),
                       recipients_file=resolve(self.recipients_file), metrics_file=resolve(self.metrics_file))
