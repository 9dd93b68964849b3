"""A CSV log of rows of numbers (losses, metrics) that a resumed run continues."""
import csv
from pathlib import Path


class CsvLog:
    """Append rows of numbers to a CSV file whose columns come from the first row."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = Path(path)
        if resume_step is None:
            self.path.unlink(missing_ok=True)
        elif self.path.exists():  # forget rows logged after the checkpoint we resume from
            with self.path.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            self.path.unlink()
            for row in rows:
                self.write(row)

    def write(self, row: dict) -> None:
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    def rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open() as f:
            return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
