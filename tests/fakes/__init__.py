"""Test doubles shared by the test suite (fake servers and helpers)."""
