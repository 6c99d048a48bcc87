"""Tests that run inside Blender (bpy module venv); a package so its conftest does not shadow tests/conftest.py."""
