"""Disk usage and inode checks against thresholds, Prometheus textfile metrics, a fill forecast."""
