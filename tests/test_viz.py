"""A run's CSV logs read back for plotting, and their running means."""
import numpy as np
import pytest

from starganlib.csv_log import CsvLog
from starganlib.viz import read_log, smooth


def test_read_log_gives_one_float_array_per_column(tmp_path):
    log = CsvLog(tmp_path / "losses.csv")
    for step in (1, 2, 3):
        log.write({"step": step, "D/latent_real": 0.5 * step, "lambda_ds": 1.0})
    columns = read_log(tmp_path / "losses.csv")
    assert list(columns) == ["step", "D/latent_real", "lambda_ds"]  # names as the header has them
    assert columns["step"].tolist() == [1.0, 2.0, 3.0]
    assert columns["D/latent_real"].tolist() == [0.5, 1.0, 1.5]


def test_read_log_of_an_empty_file_names_it(tmp_path):
    (tmp_path / "metrics.csv").write_text("")
    with pytest.raises(ValueError, match="metrics.csv holds no rows"):
        read_log(tmp_path / "metrics.csv")


def test_smooth_is_the_running_mean_aligned_with_its_last_entry():
    out = smooth([1.0, 2.0, 3.0, 4.0, 5.0], 2)
    assert np.isnan(out[0])
    assert out[1:].tolist() == [1.5, 2.5, 3.5, 4.5]
    line = np.arange(10.0)
    assert smooth(line, 3)[2:].tolist() == pytest.approx(line[1:-1])  # mean of i-2, i-1, i
    assert smooth(line, 1).tolist() == line.tolist()


def test_smooth_of_a_series_shorter_than_the_window_is_all_nan():
    out = smooth([1.0, 2.0], 5)
    assert len(out) == 2 and np.isnan(out).all()


def test_smooth_rejects_an_empty_window():
    with pytest.raises(ValueError, match="window must be a positive number of entries, got 0"):
        smooth([1.0], 0)
