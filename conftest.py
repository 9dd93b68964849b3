"""Settings for every pytest run in the course, whichever folders it collects (tests/,
notebooks/, solutions/): one thread per process, and the lessons' shared models made once."""
import os

# pytest-xdist runs two workers (and their notebook kernels, which inherit this environment)
# side by side on small machines: one thread each avoids OpenMP threads stalling one another.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402  (after the thread setting, which torch reads when it starts)

torch.set_num_threads(1)


def pytest_configure(config):
    """Before the lessons run in fast mode (CI), prepare once what several of them share (the
    oracle and the cached toy models: about two minutes on a fresh checkout), so that no lesson
    pays for it. Only the main process does it (pytest-xdist workers find it made)."""
    lessons = any("notebooks" in str(a) for a in (config.args or config.getini("testpaths")))
    fast = os.environ.get("STARGAN_FAST", "1" if os.environ.get("CI") else "0") == "1"
    if lessons and fast and not hasattr(config, "workerinput"):
        from starganlib.course import prepare_lessons
        torch.set_num_threads(os.cpu_count() or 1)  # no test runs in this process
        prepare_lessons(fast=True)
        torch.set_num_threads(1)
