"""keep_freed_memory: freed large blocks are reused without new page faults (glibc only)."""
import platform
import subprocess
import sys

import pytest
import torch

# Allocates, fills and frees a 256 MiB tensor 16 times; prints the page faults of the last 4.
PROBE = """
import resource, sys, torch
from starganlib.runtime.allocator import keep_freed_memory
applied = keep_freed_memory(torch.device("cpu")) if sys.argv[1] == "keep" else None
faults = []
for _ in range(16):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.empty(2**26).fill_(1.0)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, sum(faults[-4:]))
"""
PAGES = 2**28 // 4096  # the 4 KiB pages of one 256 MiB block


def probe(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is for glibc's malloc")
def test_freed_blocks_are_reused_without_page_faults():
    _, faults_by_default = probe("default")
    applied, faults_kept = probe("keep")
    assert faults_by_default >= 4 * PAGES * 0.9  # each block is new memory: every page faults
    assert applied == "True" and faults_kept < PAGES  # the block is reused: (almost) no faults


def test_off_glibc_it_changes_nothing(monkeypatch):
    from starganlib.runtime import allocator
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("musl", "1.2"))
    assert allocator.keep_freed_memory(torch.device("cpu")) is False


def test_on_a_gpu_it_changes_nothing():
    from starganlib.runtime.allocator import keep_freed_memory
    assert keep_freed_memory(torch.device("cuda")) is False
