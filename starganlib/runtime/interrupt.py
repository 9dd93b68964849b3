"""Ctrl-C and SIGTERM during training: stop at the next step boundary, after a checkpoint."""
import signal
import threading


class StopRequest:
    """Turns Ctrl-C / SIGTERM into a request honoured between two steps (a second Ctrl-C stops
    at once), so the checkpoint written on interruption is an exact step boundary."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
