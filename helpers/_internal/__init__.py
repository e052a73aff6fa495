"""Machinery the notebooks rely on but never teach: downloads and checksums, atomic writes,
parameter checks, CPU and thread detection, torchrun supervision. A student never needs to open
these files; the lessons are in the modules one level up."""
