"""Shared fixtures for pystmark's tests."""
