"""What every run needs from the machine, below the models: where data lives (``paths``), the
precision of the forward passes (``precision``), several processes (``distributed``), Ctrl-C
(``interrupt``), freed GPU memory (``allocator``) and loss values as floats (``scalars``)."""
