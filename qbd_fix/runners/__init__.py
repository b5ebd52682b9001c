"""Runners: how a rendered script reaches a PC (locally, or over PowerShell Remoting)."""
