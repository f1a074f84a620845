"""Test helpers: the fake Bot API server and its harness, fake encoders, a web server, and the
import graph the layering test reads."""
