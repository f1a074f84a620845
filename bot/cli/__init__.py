"""The `coopbot` command."""
