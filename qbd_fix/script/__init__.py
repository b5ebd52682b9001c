"""Turning remediations into PowerShell: typed parameters, the quoting rule, the template engine."""
