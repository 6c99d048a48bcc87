"""Motion file formats: one module per format (``bvh``, ``amass``), plus :func:`load_motion` / :func:`save_motion`."""
