"""Monitoring: expectancy windows, drift (PSI), output sharpness, live calibration (ECE),
the `expectancy_negative_focal` alert rule, the Prometheus exporter and the built-in evaluator.
"""
